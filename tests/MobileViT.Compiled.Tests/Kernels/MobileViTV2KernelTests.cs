using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Tests.Kernels;

/// <summary>MobileViTV2's GroupNorm and separable attention against their scalar twins.</summary>
public class MobileViTV2KernelTests
{
    private static float[] Random(int length, int seed, float scale = 1f, float offset = 0f)
    {
        var random = new Random(seed);
        var data = new float[length];
        for (int i = 0; i < length; i++) data[i] = (random.NextSingle() * 2 - 1) * scale + offset;
        return data;
    }

    private static void AssertClose(float[] expected, float[] actual, float relative)
    {
        float bound = relative * Math.Max(1f, expected.Max(MathF.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= bound, $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 17)]
    [InlineData(64, 1024)]
    [InlineData(96, 256)]
    [InlineData(128, 64)]
    public void GroupNormMatchesTwin(int channels, int pixels)
    {
        // An offset mean, as real activations have, checks the variance is computed without cancellation.
        var input = Random(channels * pixels, channels + pixels, 3f, 5f);
        var gamma = Random(channels, 1);
        var beta = Random(channels, 2);
        var fast = new float[input.Length];
        var reference = new float[input.Length];
        GroupNorm.SingleGroup(input, gamma, beta, fast, channels, pixels, 1e-5f);
        ReferenceKernels.GroupNormSingleGroup(input, gamma, beta, reference, channels, pixels, 1e-5f);
        AssertClose(reference, fast, 2e-5f);
    }

    [Theory]
    [InlineData(1, 2, 2, 2)]
    [InlineData(3, 2, 16, 2)]
    [InlineData(7, 6, 8, 2)]
    [InlineData(4, 4, 4, 2)]
    [InlineData(5, 8, 48, 2)]
    [InlineData(2, 4, 12, 2)]
    [InlineData(3, 4, 6, 2)]
    [InlineData(5, 6, 6, 3)]
    [InlineData(64, 32, 32, 2)]
    [InlineData(96, 16, 16, 2)]
    [InlineData(8, 8, 4, 1)]
    [InlineData(6, 14, 14, 2)]   // a 224 input's stage-4 map: 4n + 2 columns, a partial last vector per row
    [InlineData(4, 6, 10, 2)]
    public void SeparableAttentionMatchesTwin(int channels, int height, int width, int patch)
    {
        var qkv = Random((1 + 2 * channels) * height * width, channels * 7 + height, 4f);
        var fast = new float[channels * height * width];
        var reference = new float[fast.Length];
        int tokens = (height / patch) * (width / patch);
        ReferenceKernels.SeparableAttention(qkv, reference, channels, height, width, patch, patch);
        // Every path: rows of 16-lane, 8-lane and 4-lane vectors, and the scalar loops.
        foreach (var isa in new[] { Isa.Vector512, Isa.Vector256, Isa.Vector128, Isa.Scalar })
        {
            if (!KernelTestUtil.Accelerated(isa)) continue;
            // 2x2 patches on even maps never take the scalar loops on a vector path.
            Assert.Equal(isa != Isa.Scalar && patch == 2 && height % 2 == 0 && width % 2 == 0,
                SeparableAttention.PairsPath(height, width, patch, patch, isa) != Isa.Scalar);
            Array.Clear(fast);
            SeparableAttention.RunIsa(qkv, fast, channels, height, width, patch, patch, new float[SeparableAttention.ScratchLength(tokens, channels)], isa);
            AssertClose(reference, fast, 1e-5f);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ThreadsGiveBitwiseTheSameResult(int threads)
    {
        using var pool = new MobileViT.Compiled.Threading.WorkerPool(threads);
        foreach (var (channels, height, width) in new[] { (64, 32, 32), (96, 16, 16), (40, 24, 40) })
        {
            int pixels = height * width;
            var qkv = Random((1 + 2 * channels) * pixels, channels + height, 4f);
            var serial = new float[channels * pixels];
            var parallel = new float[channels * pixels];
            var scratch = new float[SeparableAttention.ScratchLength(pixels / 4, channels)];
            SeparableAttention.Run(qkv, serial, channels, height, width, 2, 2, scratch);
            SeparableAttention.Run(qkv, parallel, channels, height, width, 2, 2, scratch, pool);
            Assert.True(serial.AsSpan().SequenceEqual(parallel), $"separable attention {channels}x{height}x{width}");

            var input = Random(channels * pixels, channels, 3f, 5f);
            var gamma = Random(channels, 1);
            var beta = Random(channels, 2);
            GroupNorm.SingleGroup(input, gamma, beta, serial, channels, pixels, 1e-5f);
            GroupNorm.SingleGroup(input, gamma, beta, parallel, channels, pixels, 1e-5f, pool);
            Assert.True(serial.AsSpan().SequenceEqual(parallel), $"group norm {channels}x{pixels}");
        }
    }
}
