using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// LayerNorm over the channels of every pixel of a channel-major map (each pixel is a transformer token).
/// Vectorized over pixels, in blocks of pixels that make three passes down the channels (mean; biased variance
/// of the centred values with the corrected two-pass formula; normalize); leftover pixels take the same path
/// one float at a time.
/// Output may alias input.
/// </summary>
[SkipLocalsInit]
public static unsafe class LayerNorm
{
    public static void Channels(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> output, int channels, int pixels, float epsilon, WorkerPool? pool = null)
        => ChannelsIsa(input, gamma, beta, output, channels, pixels, epsilon, KernelIsa.Best, pool);

    private const long SerialMaxElements = 128 * 1024;

    internal static void ChannelsIsa(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> output, int channels, int pixels, float epsilon, Isa isa, WorkerPool? pool = null)
    {
        if (channels <= 0 || pixels <= 0) return;
        if (input.Length < channels * pixels || output.Length < channels * pixels) throw new ArgumentException("input/output too short");
        if (gamma.Length < channels || beta.Length < channels) throw new ArgumentException("gamma/beta too short");
        int lanes = KernelIsa.Lanes(isa);
        int vectorEnd = isa == Isa.Scalar ? 0 : pixels / lanes * lanes;
        // Every pixel is normalized on its own, so the split into blocks (and threads) does not change any result:
        // with a pool, blocks shrink so that every thread gets about two.
        int block = Block;
        // A small map (up to 64 channels x 2048 tokens) is a few microseconds of work: splitting it costs more in
        // synchronization and in moving its data between the cores' caches than it saves (measured 2x slower at 2 threads).
        if ((long)channels * pixels <= SerialMaxElements) pool = null;
        if (pool is not null && pool.Threads > 1 && vectorEnd > 0)
            block = Math.Clamp((vectorEnd + 2 * pool.Threads - 1) / (2 * pool.Threads) + lanes - 1, lanes, Block) / lanes * lanes;
        int vectorItems = (vectorEnd + block - 1) / block;
        fixed (float* pIn = input, pG = gamma, pB = beta, pOut = output)
        {
            var job = new Job
            {
                Input = pIn, Gamma = pG, Beta = pB, Output = pOut, Channels = channels, Pixels = pixels, Epsilon = epsilon,
                Block = block, VectorEnd = vectorEnd, VectorItems = vectorItems,
            };
            delegate*<void*, int, int, void> body = isa switch
            {
                Isa.Vector512 => &Item<Ops512, Vector512<float>>,
                Isa.Vector256 => &Item<Ops256, Vector256<float>>,
                Isa.Vector128 => &Item<Ops128, Vector128<float>>,
                _ => &Item<OpsScalar, float>,
            };
            int items = vectorItems + (vectorEnd < pixels ? 1 : 0);
            if (pool is null || pool.Threads == 1) for (int i = 0; i < items; i++) body(&job, i, 0);
            else pool.For(items, body, &job);
        }
    }

    private struct Job
    {
        public float* Input, Gamma, Beta, Output;
        public int Channels, Pixels, Block, VectorEnd, VectorItems;
        public float Epsilon;
    }

    /// <summary>Item i &lt; VectorItems: one block of whole vectors; the last item: the leftover pixels one at a time.</summary>
    private static void Item<TOps, TV>(void* state, int item, int thread) where TOps : struct, IVecOps<TV> where TV : struct
    {
        ref Job j = ref *(Job*)state;
        if (item < j.VectorItems)
        {
            int p0 = item * j.Block;
            Impl<TOps, TV>(j.Input, j.Gamma, j.Beta, j.Output, j.Channels, j.Pixels, p0, Math.Min(j.VectorEnd, p0 + j.Block), j.Epsilon);
        }
        else Impl<OpsScalar, float>(j.Input, j.Gamma, j.Beta, j.Output, j.Channels, j.Pixels, j.VectorEnd, j.Pixels, j.Epsilon);
    }

    private const int Block = 256;

    /// <summary>
    /// Normalizes pixels [start, end) (a whole number of vectors).
    /// Works on blocks of up to 256 pixels, walking each channel row of the block contiguously while the per-pixel
    /// statistics live in small stack arrays: a column walk with a stride of a power-of-two row length would map
    /// every channel to the same cache set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Impl<TOps, TV>(float* input, float* gamma, float* beta, float* output, int channels, int pixels, int start, int end, float epsilon)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        float* mean = stackalloc float[Block];
        float* shift = stackalloc float[Block];
        float* inv = stackalloc float[Block];
        TV count = TOps.Broadcast(channels);
        TV invCount = TOps.Div(TOps.Broadcast(1f), count);
        TV eps = TOps.Broadcast(epsilon);
        TV one = TOps.Broadcast(1f);
        int p0 = start;
        for (; p0 < end; p0 += Block)
        {
            int width = Math.Min(Block, end - p0);
            float* x = input + p0;
            for (int j = 0; j < width; j += lanes) TOps.Store(mean + j, TOps.Load(x + j));
            for (int c = 1; c < channels; c++)
            {
                float* row = x + (long)c * pixels;
                for (int j = 0; j < width; j += lanes) TOps.Store(mean + j, TOps.Add(TOps.Load(mean + j), TOps.Load(row + j)));
            }
            for (int j = 0; j < width; j += lanes)
            {
                TOps.Store(mean + j, TOps.Div(TOps.Load(mean + j), count));
                TOps.Store(shift + j, TOps.Zero);
                TOps.Store(inv + j, TOps.Zero);
            }
            // Corrected two-pass (Chan, Golub & LeVeque): the centred values' own mean removes the rounding error
            // of the float mean, which matters when the spread is small next to the mean.
            for (int c = 0; c < channels; c++)
            {
                float* row = x + (long)c * pixels;
                for (int j = 0; j < width; j += lanes)
                {
                    TV d = TOps.Sub(TOps.Load(row + j), TOps.Load(mean + j));
                    TOps.Store(shift + j, TOps.Add(TOps.Load(shift + j), d));
                    TOps.Store(inv + j, TOps.Fma(d, d, TOps.Load(inv + j)));
                }
            }
            for (int j = 0; j < width; j += lanes)
            {
                TV sh = TOps.Mul(TOps.Load(shift + j), invCount);
                TV variance = TOps.Max(TOps.Sub(TOps.Div(TOps.Load(inv + j), count), TOps.Mul(sh, sh)), TOps.Zero);
                TOps.Store(shift + j, sh);
                TOps.Store(inv + j, TOps.Div(one, TOps.Sqrt(TOps.Add(variance, eps))));
            }
            for (int c = 0; c < channels; c++)
            {
                float* row = x + (long)c * pixels;
                float* y = output + p0 + (long)c * pixels;
                TV g = TOps.Broadcast(gamma[c]), b = TOps.Broadcast(beta[c]);
                for (int j = 0; j < width; j += lanes)
                {
                    TV d = TOps.Mul(TOps.Sub(TOps.Sub(TOps.Load(row + j), TOps.Load(mean + j)), TOps.Load(shift + j)), TOps.Load(inv + j));
                    TOps.Store(y + j, TOps.Fma(d, g, b));
                }
            }
        }
    }
}
