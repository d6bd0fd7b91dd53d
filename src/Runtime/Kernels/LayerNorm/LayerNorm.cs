using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// LayerNorm over the channels of every pixel of a channel-major map (each pixel is a transformer token).
/// Vectorized over pixels: one vector of pixels makes three passes down the channels (mean; biased variance
/// of the centred values with the corrected two-pass formula; normalize), as torch does; leftover pixels take the same path one float at a time.
/// Output may alias input.
/// </summary>
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

    /// <summary>Normalizes whole vectors of pixels from <paramref name="start"/>; returns the first pixel not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Impl<TOps, TV>(float* input, float* gamma, float* beta, float* output, int channels, int pixels, int start, float epsilon)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        TV count = TOps.Broadcast(channels);
        TV eps = TOps.Broadcast(epsilon);
        TV one = TOps.Broadcast(1f);
        int p = start;
        for (; p + lanes <= pixels; p += lanes)
        {
            float* x = input + p;
            TV s0 = TOps.Zero, s1 = TOps.Zero;
            int c = 0;
            for (; c + 1 < channels; c += 2)
            {
                s0 = TOps.Add(s0, TOps.Load(x + (long)c * pixels));
                s1 = TOps.Add(s1, TOps.Load(x + (long)(c + 1) * pixels));
            }
            if (c < channels) s0 = TOps.Add(s0, TOps.Load(x + (long)c * pixels));
            TV mean = TOps.Div(TOps.Add(s0, s1), count);
            // Corrected two-pass (Chan, Golub & LeVeque): the centred values' own mean removes the rounding error
            // of the float mean, which matters when the spread is small next to the mean.
            TV r0 = TOps.Zero, r1 = TOps.Zero, v0 = TOps.Zero, v1 = TOps.Zero;
            for (c = 0; c + 1 < channels; c += 2)
            {
                TV d0 = TOps.Sub(TOps.Load(x + (long)c * pixels), mean);
                TV d1 = TOps.Sub(TOps.Load(x + (long)(c + 1) * pixels), mean);
                r0 = TOps.Add(r0, d0);
                r1 = TOps.Add(r1, d1);
                v0 = TOps.Fma(d0, d0, v0);
                v1 = TOps.Fma(d1, d1, v1);
            }
            if (c < channels)
            {
                TV d0 = TOps.Sub(TOps.Load(x + (long)c * pixels), mean);
                r0 = TOps.Add(r0, d0);
                v0 = TOps.Fma(d0, d0, v0);
            }
            TV shift = TOps.Div(TOps.Add(r0, r1), count);
            TV variance = TOps.Sub(TOps.Div(TOps.Add(v0, v1), count), TOps.Mul(shift, shift));
            variance = TOps.Max(variance, TOps.Zero);
            TV inv = TOps.Div(one, TOps.Sqrt(TOps.Add(variance, eps)));
            float* y = output + p;
            for (c = 0; c < channels; c++)
            {
                TV d = TOps.Mul(TOps.Sub(TOps.Sub(TOps.Load(x + (long)c * pixels), mean), shift), inv);
                TOps.Store(y + (long)c * pixels, TOps.Fma(d, TOps.Broadcast(gamma[c]), TOps.Broadcast(beta[c])));
            }
        }
        return p;
    }
}
