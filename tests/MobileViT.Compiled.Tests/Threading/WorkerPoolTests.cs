using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Threading;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Threading;

public unsafe class WorkerPoolTests
{
    private struct Counts
    {
        public int* Hits;
        public int* Threads;
    }

    private static void Mark(void* state, int item, int thread)
    {
        var c = (Counts*)state;
        Interlocked.Increment(ref c->Hits[item]);
        c->Threads[item] = thread;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void EveryItemRunsExactlyOnce(int threads)
    {
        using var pool = new WorkerPool(threads);
        Assert.Equal(threads, pool.Threads);
        var hits = new int[1000];
        var who = new int[1000];
        fixed (int* h = hits, w = who)
        {
            var c = new Counts { Hits = h, Threads = w };
            for (int round = 0; round < 300; round++)
            {
                int count = 1 + round * 7 % 999;
                Array.Clear(hits);
                pool.For(count, &Mark, &c);
                for (int i = 0; i < hits.Length; i++) Assert.Equal(i < count ? 1 : 0, hits[i]);
                for (int i = 0; i < count; i++) Assert.InRange(who[i], 0, threads - 1);
                if (round % 50 == 0) Thread.Sleep(2); // let the workers fall asleep: the wake-up path
            }
        }
    }

    private static void Busy(void* state, int item, int thread)
    {
        var c = (Counts*)state;
        double x = item;
        for (int i = 0; i < 20000; i++) x = Math.Sqrt(x + i);
        c->Hits[item] = (int)x & 1;
        c->Threads[item] = thread;
    }

    [Fact]
    public void WorkersTakePartInLongJobs()
    {
        using var pool = new WorkerPool(2);
        var hits = new int[64];
        var who = new int[64];
        int byWorker = 0;
        fixed (int* h = hits, w = who)
        {
            var c = new Counts { Hits = h, Threads = w };
            for (int round = 0; round < 50 && byWorker == 0; round++)
            {
                pool.For(64, &Busy, &c);
                byWorker += who.Count(t => t == 1);
            }
        }
        Assert.True(byWorker > 0, "the worker thread never ran an item");
    }

    [Fact]
    public void NoAllocationPerCall()
    {
        using var pool = new WorkerPool(2);
        var hits = new int[64];
        var who = new int[64];
        fixed (int* h = hits, w = who)
        {
            var c = new Counts { Hits = h, Threads = w };
            for (int i = 0; i < 100; i++) pool.For(64, &Mark, &c);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) pool.For(64, &Mark, &c);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    // Kernels split over a pool give bitwise the same result as on one thread.

    public static TheoryData<int> ThreadCounts => new() { 2, 3 };

    private static void AssertBitwise(float[] expected, float[] actual, string context)
    {
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{context}: element {i}: {expected[i]} vs {actual[i]}");
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void PointwiseConvIsBitwiseIdentical(int threads)
    {
        using var pool = new WorkerPool(threads);
        var rng = new Random(3);
        foreach (var (cin, cout, pixels) in new[] { (16, 64, 16384), (144, 432, 1024), (384, 192, 256), (480, 240, 64), (7, 13, 53), (3, 9, 1), (5, 3, 100) })
        foreach (bool residual in new[] { false, true })
        {
            var input = Random(rng, cin * pixels);
            var packed = PointwiseConv.PackWeights(Random(rng, cin * cout), cin, cout);
            var bias = Random(rng, cout);
            var res = residual ? Random(rng, cout * pixels) : [];
            var serial = new float[cout * pixels];
            var parallel = new float[cout * pixels];
            PointwiseConv.Run<Silu>(input, packed, bias, serial, cin, cout, pixels, res);
            PointwiseConv.Run<Silu>(input, packed, bias, parallel, cin, cout, pixels, res, pool);
            AssertBitwise(serial, parallel, $"pointwise {cin}->{cout} p={pixels} res={residual}");
        }
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Conv2DIsBitwiseIdentical(int threads)
    {
        using var pool = new WorkerPool(threads);
        var rng = new Random(4);
        foreach (var (cin, h, w, cout, k, s) in new[] { (3, 64, 64, 16, 3, 2), (96, 32, 32, 96, 3, 1), (160, 8, 8, 160, 3, 1), (128, 16, 16, 64, 3, 1), (5, 7, 9, 11, 3, 1) })
        {
            int oh = (h + 2 * (k / 2) - k) / s + 1, ow = (w + 2 * (k / 2) - k) / s + 1;
            var input = Random(rng, cin * h * w);
            var packed = Conv2D.PackWeights(Random(rng, cout * cin * k * k), cin, cout, k);
            var bias = Random(rng, cout);
            var scratch = new float[Conv2D.ScratchLength(cin, k, oh, ow)];
            var serial = new float[cout * oh * ow];
            var parallel = new float[cout * oh * ow];
            Conv2D.Run<Silu>(input, packed, bias, serial, cin, h, w, cout, k, s, k / 2, 1, scratch);
            Conv2D.Run<Silu>(input, packed, bias, parallel, cin, h, w, cout, k, s, k / 2, 1, scratch, pool);
            AssertBitwise(serial, parallel, $"conv {cin}x{h}x{w}->{cout} k{k} s{s}");
        }
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void DepthwiseIsBitwiseIdentical(int threads)
    {
        using var pool = new WorkerPool(threads);
        var rng = new Random(5);
        foreach (var (c, h, w, s) in new[] { (64, 128, 128, 1), (128, 128, 128, 2), (384, 32, 32, 2), (5, 9, 7, 1), (2, 5, 5, 2) })
        {
            int oh = (h - 1) / s + 1, ow = (w - 1) / s + 1;
            var input = Random(rng, c * h * w);
            var weight = Random(rng, c * 9);
            var bias = Random(rng, c);
            var serial = new float[c * oh * ow];
            var parallel = new float[c * oh * ow];
            DepthwiseConv2D.Run<Silu>(input, weight, bias, serial, c, h, w, 3, s, 1, 1);
            DepthwiseConv2D.Run<Silu>(input, weight, bias, parallel, c, h, w, 3, s, 1, 1, pool);
            AssertBitwise(serial, parallel, $"depthwise {c}x{h}x{w} s{s}");
        }
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void LayerNormIsBitwiseIdentical(int threads)
    {
        using var pool = new WorkerPool(threads);
        var rng = new Random(6);
        foreach (var (c, p) in new[] { (144, 1024), (192, 256), (240, 64), (7, 1), (5, 37), (3, 531) })
        {
            var input = Random(rng, c * p);
            var gamma = Random(rng, c);
            var beta = Random(rng, c);
            var serial = new float[c * p];
            var parallel = new float[c * p];
            LayerNorm.Channels(input, gamma, beta, serial, c, p, 1e-5f);
            LayerNorm.Channels(input, gamma, beta, parallel, c, p, 1e-5f, pool);
            AssertBitwise(serial, parallel, $"layernorm {c}x{p}");
        }
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void PatchAttentionIsBitwiseIdentical(int threads)
    {
        using var pool = new WorkerPool(threads);
        var rng = new Random(7);
        foreach (var (hidden, heads, size) in new[] { (144, 4, 32), (192, 4, 16), (240, 4, 8), (12, 3, 6) })
        {
            int tokens = size / 2 * (size / 2);
            var qkv = Random(rng, 3 * hidden * size * size);
            var scratch = new float[PatchAttention.ScratchLength(tokens, hidden / heads, 2, 2)];
            var serial = new float[hidden * size * size];
            var parallel = new float[hidden * size * size];
            PatchAttention.Run(qkv, serial, hidden, heads, size, size, 2, 2, scratch);
            PatchAttention.Run(qkv, parallel, hidden, heads, size, size, 2, 2, scratch, pool);
            AssertBitwise(serial, parallel, $"attention {hidden}/{heads} {size}x{size}");
        }
    }
}

/// <summary>Measures the process's CPU time while the pool is idle, so it runs alone (no other test burning CPU).</summary>
[CollectionDefinition(nameof(WorkerPoolIdleTests), DisableParallelization = true)]
public sealed class WorkerPoolIdleCollection;

[Collection(nameof(WorkerPoolIdleTests))]
public unsafe class WorkerPoolIdleTests
{
    private static void Mark(void* state, int item, int thread) => Interlocked.Increment(ref ((int*)state)[item]);

    [Fact]
    public void WorkersBlockBetweenCallsAndExitOnDispose()
    {
        var existing = ThreadIds();
        var pool = new WorkerPool(3);
        var hits = new int[8];
        var who = new int[8];
        fixed (int* h = hits, w = who)
        {
            pool.For(8, &Mark, h);
        }
        // After the bounded spin the workers block: little CPU time accrues on them while idle. Only the threads the
        // pool started count: the whole process's CPU time also holds the runtime's background JIT and GC threads,
        // which after a test run can use a core for a while (this test once failed on them).
        var workers = ThreadIds().Except(existing).ToArray();
        Assert.NotEmpty(workers);
        Thread.Sleep(50);
        var cpuBefore = CpuTime(workers);
        Thread.Sleep(300);
        var idleCpu = CpuTime(workers) - cpuBefore;
        Assert.True(idleCpu < TimeSpan.FromMilliseconds(100), $"idle pool workers used {idleCpu.TotalMilliseconds} ms of CPU in 300 ms");
        pool.Dispose();
        pool.Dispose();
        var hits2 = new int[4];
        fixed (int* h = hits2, w = who)
        {
            pool.For(4, &Mark, h); // after Dispose: runs on the caller
        }
        Assert.All(hits2, x => Assert.Equal(1, x));
    }

    private static HashSet<int> ThreadIds()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.Threads.Cast<System.Diagnostics.ProcessThread>().Select(t => t.Id).ToHashSet();
    }

    /// <summary>CPU time of the given OS threads (a thread that has exited counts nothing).</summary>
    private static TimeSpan CpuTime(int[] threadIds)
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var total = TimeSpan.Zero;
        foreach (System.Diagnostics.ProcessThread t in process.Threads)
        {
            if (!threadIds.Contains(t.Id)) continue;
            try { total += t.TotalProcessorTime; }
            catch (InvalidOperationException) { } // exited between the listing and the read
        }
        return total;
    }
}
