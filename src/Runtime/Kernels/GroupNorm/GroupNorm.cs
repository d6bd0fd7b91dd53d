using System.Numerics;
using System.Runtime.InteropServices;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// GroupNorm with a single group over a channel-major map (MobileViTV2's normalization of the token map). Float
/// partial sums over fixed blocks of 1024 elements, added in double in block order, so a pool splits the blocks (and
/// then the channels) without changing a bit: run on one thread after a layer that ran on two, it waited for the
/// other core's cache lines (0.016 ms at one thread, 0.045 at two, on 64 x 1024).
/// </summary>
public static unsafe class GroupNorm
{
    private const int SerialMaxElements = 32 * 1024;

    /// <summary>
    /// The width of System.Numerics.Vector&lt;float&gt;, which the runtime picks (AdvSimd 128 on ARM64, AVX2 256 on x64
    /// unless DOTNET_PreferredVectorBitWidth says otherwise); Scalar when it is not accelerated. Also read by <see cref="KernelInfo"/>.
    /// </summary>
    internal static Isa Tier => !Vector.IsHardwareAccelerated ? Isa.Scalar : Vector<float>.Count switch
    {
        >= 16 => Isa.Vector512,
        8 => Isa.Vector256,
        _ => Isa.Vector128,
    };

    /// <summary>Normalizes over all channels x pixels with one mean and variance, then scales and shifts per channel.</summary>
    public static void SingleGroup(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> output, int channels, int pixels, float epsilon, WorkerPool? pool = null)
    {
        int count = channels * pixels;
        if (count <= 0) return;
        if (input.Length < count || output.Length < count) throw new ArgumentException("input/output too short");
        if (gamma.Length < channels || beta.Length < channels) throw new ArgumentException("gamma/beta too short");
        if (pool is not null && (pool.Threads == 1 || count < SerialMaxElements)) pool = null;
        fixed (float* pIn = input, pG = gamma, pB = beta, pOut = output)
        {
            var job = new Job { Input = pIn, Gamma = pG, Beta = pB, Output = pOut, Channels = channels, Pixels = pixels };
            ComputeStatistics(ref job, count, epsilon, pool);
            Run(&job, &Normalize, pool, Math.Min(channels, job.Items));
        }
    }

    /// <summary>
    /// The mean and 1 / sqrt(variance + epsilon) of count floats at input, exactly as <see cref="SingleGroup"/> takes
    /// them (for a 1x1 convolution that normalizes its input while packing it).
    /// </summary>
    internal static (float Mean, float Inverse) Statistics(float* input, int count, float epsilon, WorkerPool? pool)
    {
        if (pool is not null && (pool.Threads == 1 || count < SerialMaxElements)) pool = null;
        var job = new Job { Input = input };
        ComputeStatistics(ref job, count, epsilon, pool);
        return (job.Mean, job.Inverse);
    }

    private static void ComputeStatistics(ref Job job, int count, float epsilon, WorkerPool? pool)
    {
        int blocks = (count + Block - 1) / Block;
        job.Count = count;
        job.Blocks = blocks;
        job.Partial = KernelIsa.ThreadPointer(blocks);
        job.Items = pool is null ? 1 : 3 * pool.Threads;
        fixed (Job* p = &job)
        {
            // Two passes (the mean, then the centred sum of squares: no cancellation), each summed in block order.
            Run(p, &SumBlocks, pool, job.Items);
            double total = 0;
            for (int b = 0; b < blocks; b++) total += job.Partial[b];
            job.Mean = (float)(total / count);
            Run(p, &SquareBlocks, pool, job.Items);
            total = 0;
            for (int b = 0; b < blocks; b++) total += job.Partial[b];
            double variance = total / count;
            job.Inverse = (float)(1.0 / Math.Sqrt(variance + epsilon));
        }
    }

    private static void Run(Job* job, delegate*<void*, int, int, void> body, WorkerPool? pool, int items)
    {
        if (pool is null) body(job, 0, 0);
        else pool.For(items, body, job);
    }

    private struct Job
    {
        public float* Input, Gamma, Beta, Output, Partial;
        public int Channels, Pixels, Count, Blocks, Items;
        public float Mean, Inverse;
    }

    private const int Block = 1024; // float vector partial sums over short blocks, accumulated in double

    private static (int First, int End) Range(int total, int item, int items)
        => ((int)((long)item * total / items), (int)((long)(item + 1) * total / items));

    private static void SumBlocks(void* state, int item, int thread)
    {
        ref Job j = ref *(Job*)state;
        var (b0, b1) = j.Items == 1 ? (0, j.Blocks) : Range(j.Blocks, item, j.Items);
        for (int b = b0; b < b1; b++)
        {
            var block = new ReadOnlySpan<float>(j.Input + (long)b * Block, Math.Min(Block, j.Count - b * Block));
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(block);
            var acc = Vector<float>.Zero;
            foreach (var v in vectors) acc += v;
            float partial = Vector.Sum(acc);
            for (int i = vectors.Length * Vector<float>.Count; i < block.Length; i++) partial += block[i];
            j.Partial[b] = partial;
        }
    }

    private static void SquareBlocks(void* state, int item, int thread)
    {
        ref Job j = ref *(Job*)state;
        var (b0, b1) = j.Items == 1 ? (0, j.Blocks) : Range(j.Blocks, item, j.Items);
        var vMean = new Vector<float>(j.Mean);
        for (int b = b0; b < b1; b++)
        {
            var block = new ReadOnlySpan<float>(j.Input + (long)b * Block, Math.Min(Block, j.Count - b * Block));
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(block);
            var acc = Vector<float>.Zero;
            foreach (var v in vectors)
            {
                var d = v - vMean;
                acc += d * d;
            }
            float partial = Vector.Sum(acc);
            for (int i = vectors.Length * Vector<float>.Count; i < block.Length; i++)
            {
                float d = block[i] - j.Mean;
                partial += d * d;
            }
            j.Partial[b] = partial;
        }
    }

    private static void Normalize(void* state, int item, int thread)
    {
        ref Job j = ref *(Job*)state;
        int items = Math.Min(j.Channels, j.Items);
        var (c0, c1) = items == 1 ? (0, j.Channels) : Range(j.Channels, item, items);
        float meanF = j.Mean;
        for (int c = c0; c < c1; c++)
        {
            // (x - mean) * scale + beta, not x * scale + shift: no cancellation when the variance is tiny.
            float scale = j.Inverse * j.Gamma[c];
            float shift = j.Beta[c];
            var source = new ReadOnlySpan<float>(j.Input + (long)c * j.Pixels, j.Pixels);
            var target = new Span<float>(j.Output + (long)c * j.Pixels, j.Pixels);
            int i = 0;
            if (Tier != Isa.Scalar)
            {
                var vMean = new Vector<float>(meanF);
                var vScale = new Vector<float>(scale);
                var vShift = new Vector<float>(shift);
                var src = MemoryMarshal.Cast<float, Vector<float>>(source);
                var dst = MemoryMarshal.Cast<float, Vector<float>>(target);
                for (int v = 0; v < src.Length; v++) dst[v] = (src[v] - vMean) * vScale + vShift;
                i = src.Length * Vector<float>.Count;
            }
            for (; i < j.Pixels; i++) target[i] = (source[i] - meanF) * scale + shift;
        }
    }
}
