using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
        Span<float> output, int channels, int pixels, float epsilon)
        => ChannelsIsa(input, gamma, beta, output, channels, pixels, epsilon, KernelIsa.Best);

    internal static void ChannelsIsa(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> output, int channels, int pixels, float epsilon, Isa isa)
    {
        if (channels <= 0 || pixels <= 0) return;
        if (input.Length < channels * pixels || output.Length < channels * pixels) throw new ArgumentException("input/output too short");
        if (gamma.Length < channels || beta.Length < channels) throw new ArgumentException("gamma/beta too short");
        fixed (float* pIn = input, pG = gamma, pB = beta, pOut = output)
        {
            int done = isa switch
            {
                Isa.Vector512 => Impl<Ops512, Vector512<float>>(pIn, pG, pB, pOut, channels, pixels, 0, epsilon),
                Isa.Vector256 => Impl<Ops256, Vector256<float>>(pIn, pG, pB, pOut, channels, pixels, 0, epsilon),
                Isa.Vector128 => Impl<Ops128, Vector128<float>>(pIn, pG, pB, pOut, channels, pixels, 0, epsilon),
                _ => 0,
            };
            Impl<OpsScalar, float>(pIn, pG, pB, pOut, channels, pixels, done, epsilon);
        }
    }

    private const int Block = 256;

    /// <summary>
    /// Normalizes whole vectors of pixels from <paramref name="start"/>; returns the first pixel not done.
    /// Works on blocks of up to 256 pixels, walking each channel row of the block contiguously while the per-pixel
    /// statistics live in small stack arrays: a column walk with a stride of a power-of-two row length would map
    /// every channel to the same cache set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Impl<TOps, TV>(float* input, float* gamma, float* beta, float* output, int channels, int pixels, int start, float epsilon)
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
        int end = start + (pixels - start) / lanes * lanes;
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
        return end;
    }
}
