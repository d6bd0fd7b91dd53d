using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MobileViT.Compiled.Kernels;

/// <summary>Mean over the pixels of each channel (vector sums with 4 accumulators per channel).</summary>
public static unsafe class GlobalAveragePool
{
    public static void Run(ReadOnlySpan<float> input, Span<float> output, int channels, int pixels)
        => RunIsa(input, output, channels, pixels, KernelIsa.Best);

    internal static void RunIsa(ReadOnlySpan<float> input, Span<float> output, int channels, int pixels, Isa isa)
    {
        if (channels <= 0) return;
        if (input.Length < channels * pixels || output.Length < channels) throw new ArgumentException("input/output too short");
        fixed (float* pIn = input, pOut = output)
        {
            switch (isa)
            {
                case Isa.Vector512: Impl<Ops512, Vector512<float>>(pIn, pOut, channels, pixels); break;
                case Isa.Vector256: Impl<Ops256, Vector256<float>>(pIn, pOut, channels, pixels); break;
                case Isa.Vector128: Impl<Ops128, Vector128<float>>(pIn, pOut, channels, pixels); break;
                default: Impl<OpsScalar, float>(pIn, pOut, channels, pixels); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Impl<TOps, TV>(float* input, float* output, int channels, int pixels)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        for (int c = 0; c < channels; c++)
        {
            float* x = input + (long)c * pixels;
            TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
            int p = 0;
            for (; p + 4 * lanes <= pixels; p += 4 * lanes)
            {
                a0 = TOps.Add(a0, TOps.Load(x + p));
                a1 = TOps.Add(a1, TOps.Load(x + p + lanes));
                a2 = TOps.Add(a2, TOps.Load(x + p + 2 * lanes));
                a3 = TOps.Add(a3, TOps.Load(x + p + 3 * lanes));
            }
            for (; p + lanes <= pixels; p += lanes) a0 = TOps.Add(a0, TOps.Load(x + p));
            float sum = TOps.Sum(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)));
            for (; p < pixels; p++) sum += x[p];
            output[c] = sum / pixels;
        }
    }
}
