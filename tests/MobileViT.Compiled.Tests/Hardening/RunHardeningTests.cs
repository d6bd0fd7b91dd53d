using System.Diagnostics;
using MobileViT.Compiled.Tests.Compiled;
using MobileViT.Compiled.Tests.Models;
using Xunit.Abstractions;

namespace MobileViT.Compiled.Tests.Hardening;

/// <summary>Run under hostile use: wrong spans, NaN and infinite inputs, two threads on one instance, a long soak.</summary>
public class RunHardeningTests(ITestOutputHelper output)
{
    private const string Model = "mobilevit-xx-small-fashion";
    private static readonly float[] s_inputs = Fixtures.Reference(Model, "input.test16");

    private static float[] Image(int i) => s_inputs.AsSpan(i * FashionMobileViT.InputLength, FashionMobileViT.InputLength).ToArray();

    [Fact]
    public void SpansOfTheWrongLengthAreArgumentExceptions()
    {
        using var model = FashionMobileViT.Create(1);
        var input = new float[FashionMobileViT.InputLength];
        var logits = new float[10];
        foreach (int n in new[] { 0, 1, FashionMobileViT.InputLength - 1, FashionMobileViT.InputLength + 1, 3 * FashionMobileViT.InputLength })
            Assert.Equal("pixelValues", Assert.Throws<ArgumentException>(() => model.Run(new float[n], logits)).ParamName);
        foreach (int n in new[] { 0, 9, 11, 1000 })
            Assert.Equal("output", Assert.Throws<ArgumentException>(() => model.Run(input, new float[n])).ParamName);
        Assert.Throws<ArgumentException>(() => model.Run(default, default));
        // The instance is still usable after refused calls (the busy flag was never taken).
        model.Run(Image(0), logits);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
    }

    public static TheoryData<string, float> NonFiniteInputs() => new()
    {
        { "every pixel", float.NaN },
        { "one pixel", float.NaN },
        { "every pixel", float.PositiveInfinity },
        { "one pixel", float.PositiveInfinity },
        { "one pixel", float.NegativeInfinity },
    };

    /// <summary>
    /// NaN or infinite inputs give NaN outputs, never a crash or a hang (the run is bounded by a timeout).
    /// If this fails with finite logits, some kernel swallows NaN (a max or clamp that drops it).
    /// </summary>
    [Theory]
    [MemberData(nameof(NonFiniteInputs))]
    public async Task NonFiniteInputsGiveNaNOutputs(string where, float value)
    {
        using var model = FashionMobileViT.Create(1);
        var input = Image(3);
        if (where == "every pixel") Array.Fill(input, value);
        else input[32 * 64 + 32] = value;
        var logits = new float[10];
        await Task.Run(() => model.Run(input, logits)).WaitAsync(TimeSpan.FromSeconds(30)); // TimeoutException = a hang
        output.WriteLine($"{value} at {where}: logits [{string.Join(", ", logits)}]");
        Assert.All(logits, v => Assert.True(float.IsNaN(v), $"{value} at {where}: expected NaN logits, got [{string.Join(", ", logits)}]"));
        // ...and the instance recovers: the next finite input gives the finite answer again.
        using var fresh = FashionMobileViT.Create(1);
        float[] a = new float[10], b = new float[10];
        model.Run(Image(0), a);
        fresh.Run(Image(0), b);
        Assert.Equal(b, a);
    }

    [Fact]
    public async Task ExtremeFiniteInputsDoNotCrashOrHang()
    {
        using var model = FashionMobileViT.Create(1);
        var logits = new float[10];
        foreach (float v in new[] { float.MaxValue, -float.MaxValue, float.Epsilon, 1e30f, -1e30f })
        {
            var input = new float[FashionMobileViT.InputLength];
            Array.Fill(input, v);
            await Task.Run(() => model.Run(input, logits)).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task ASecondThreadOnTheSameInstanceIsRefusedWithInvalidOperationException()
    {
        using var model = FashionMobileViT.Create(1);
        var input = Image(0);
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // Thread A parks inside Run (in the stage observer, after the busy flag is taken) until B has tried.
        var a = Task.Run(() => model.Run(input, new float[10], (stage, _, _, _, _) =>
        {
            if (stage != 0) return;
            inside.Set();
            release.Wait(TimeSpan.FromSeconds(30));
        }));
        Assert.True(inside.Wait(TimeSpan.FromSeconds(30)));
        var e = Assert.Throws<InvalidOperationException>(() => model.Run(input, new float[10]));
        Assert.Contains("one instance serves one thread at a time", e.Message);
        release.Set();
        await a.WaitAsync(TimeSpan.FromSeconds(30));
        // Once A has left, the instance serves the next caller.
        var logits = new float[10];
        model.Run(input, logits);
        Assert.Equal(Fixtures.TopK(Fixtures.Reference(Model, "logits.test16").AsSpan(0, 10), 1), Fixtures.TopK(logits, 1));
    }

    [Fact]
    public async Task RunFeaturesWhileRunIsRunningIsRefusedAndTheOtherWayRound()
    {
        using var model = FashionMobileViT.Create(1);
        var input = Image(0);
        var features = new float[FashionMobileViT.FeatureLength];
        foreach (bool parkInRun in new[] { true, false })
        {
            using var inside = new ManualResetEventSlim();
            using var release = new ManualResetEventSlim();
            StageObserver park = (stage, _, _, _, _) =>
            {
                if (stage != 0) return;
                inside.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            };
            var a = Task.Run(() =>
            {
                if (parkInRun) model.Run(input, new float[10], park);
                else model.RunFeatures(input, new float[FashionMobileViT.FeatureLength], park);
            });
            Assert.True(inside.Wait(TimeSpan.FromSeconds(30)));
            var e = parkInRun
                ? Assert.Throws<InvalidOperationException>(() => model.RunFeatures(input, features))
                : Assert.Throws<InvalidOperationException>(() => model.Run(input, new float[10]));
            Assert.Contains("one instance serves one thread at a time", e.Message);
            release.Set();
            await a.WaitAsync(TimeSpan.FromSeconds(30));
        }
        model.RunFeatures(input, features); // free again
    }

    [Fact]
    public async Task HammeringOneInstanceFromTwoThreadsOnlyEverThrowsInvalidOperationException()
    {
        using var model = FashionMobileViT.Create(1);
        using var reference = FashionMobileViT.Create(1);
        var expected = new float[10];
        reference.Run(Image(5), expected);
        int ran = 0, refused = 0;
        var threads = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var logits = new float[10];
            var input = Image(5);
            for (int i = 0; i < 200; i++)
            {
                try
                {
                    model.Run(input, logits);
                    Assert.Equal(expected, logits); // a run that was let in is never corrupted by the other thread
                    Interlocked.Increment(ref ran);
                }
                catch (InvalidOperationException)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        })).ToArray();
        await Task.WhenAll(threads);
        output.WriteLine($"400 calls from 2 threads on one instance: {ran} ran, {refused} refused with InvalidOperationException");
        Assert.Equal(400, ran + refused);
        Assert.True(ran > 0);
    }

    [Fact]
    public void SeparateInstancesInParallelGiveIdenticalResults()
    {
        var expected = new float[16][];
        using (var model = FashionMobileViT.Create(1))
            for (int i = 0; i < 16; i++) model.Run(Image(i), expected[i] = new float[10]);
        var results = new float[4][][];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            using var model = FashionMobileViT.Create(1);
            results[t] = new float[16][];
            for (int round = 0; round < 5; round++)
                for (int i = 0; i < 16; i++)
                    model.Run(Image(i), results[t][i] = new float[10]);
        });
        for (int t = 0; t < 4; t++)
            for (int i = 0; i < 16; i++)
                Assert.Equal(expected[i], results[t][i]); // bit for bit
    }

}

/// <summary>The soak runs alone (GC.GetTotalMemory is process-wide: tests running beside it would blur the figure).</summary>
[CollectionDefinition(nameof(SoakTests), DisableParallelization = true)]
public sealed class SoakCollection;

/// <summary>10,000 consecutive runs of the fashion model: no allocation per run, no growth of the GC heap, the same answer.</summary>
[Collection(nameof(SoakTests))]
public class SoakTests(ITestOutputHelper output)
{
    private const string Model = "mobilevit-xx-small-fashion";

    [Fact]
    public void TenThousandRunsAllocateNothingAndDoNotGrowMemory()
    {
        const int runs = 10_000;
        using var model = FashionMobileViT.Create(1);
        var all = Fixtures.Reference(Model, "input.test16");
        var inputs = Enumerable.Range(0, 16).Select(i => all.AsSpan(i * FashionMobileViT.InputLength, FashionMobileViT.InputLength).ToArray()).ToArray();
        var logits = new float[10];
        var first = new float[10];
        model.Run(inputs[0], first); // warm-up: JIT, tiering, lazy statics
        for (int i = 0; i < 200; i++) model.Run(inputs[i % 16], logits);

        long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        int gen0Before = GC.CollectionCount(0);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < runs; i++) model.Run(inputs[i % 16], logits);
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        int collections = GC.CollectionCount(0) - gen0Before;
        long memoryAfter = GC.GetTotalMemory(forceFullCollection: true);

        output.WriteLine($"{runs} runs in {clock.Elapsed.TotalSeconds:F2} s ({clock.Elapsed.TotalMilliseconds * 1000 / runs:F0} us/run): "
            + $"allocated {allocated} bytes ({(double)allocated / runs:F2} per run) on the running thread; "
            + $"{collections} gen-0 collections; GC heap {memoryBefore} -> {memoryAfter} bytes ({memoryAfter - memoryBefore:+#;-#;0})");
        model.Run(inputs[0], logits);
        Assert.Equal(first, logits); // still the same answer after 10,000 runs
        Assert.True(allocated < runs, $"allocated {allocated} bytes over {runs} runs");
        Assert.True(memoryAfter - memoryBefore < 1 << 20, $"GC heap grew from {memoryBefore} to {memoryAfter} bytes");
    }
}
