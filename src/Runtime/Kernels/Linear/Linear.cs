using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Fully connected layer on one vector (the classifier head): a matrix-vector product over the row-major
/// [outFeatures, inFeatures] weight as it comes from the checkpoint, 4 output rows per pass sharing each input load.
/// </summary>
public static unsafe class Linear
{
    public static void Run(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inFeatures, int outFeatures)
        => RunIsa(input, weight, bias, output, inFeatures, outFeatures, KernelIsa.Best);

    internal static void RunIsa(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inFeatures, int outFeatures, Isa isa)
    {
        if (outFeatures <= 0) return;
        if (input.Length < inFeatures || weight.Length < inFeatures * outFeatures || output.Length < outFeatures)
            throw new ArgumentException("input/weight/output too short");
        if (!bias.IsEmpty && bias.Length < outFeatures) throw new ArgumentException("bias too short", nameof(bias));
        fixed (float* pIn = input, pW = weight, pB = bias, pOut = output)
        {
            float* b = bias.IsEmpty ? null : pB;
            switch (isa)
            {
                case Isa.Vector512: Impl<Ops512, Vector512<float>>(pIn, pW, b, pOut, inFeatures, outFeatures); break;
                case Isa.Vector256: Impl<Ops256, Vector256<float>>(pIn, pW, b, pOut, inFeatures, outFeatures); break;
                case Isa.Vector128: Impl<Ops128, Vector128<float>>(pIn, pW, b, pOut, inFeatures, outFeatures); break;
                default: Impl<OpsScalar, float>(pIn, pW, b, pOut, inFeatures, outFeatures); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Impl<TOps, TV>(float* x, float* w, float* bias, float* y, int k, int m)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        int o = 0;
        for (; o + 4 <= m; o += 4)
        {
            float* w0 = w + (long)o * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
            TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
            int i = 0;
            for (; i + lanes <= k; i += lanes)
            {
                TV xv = TOps.Load(x + i);
                a0 = TOps.Fma(TOps.Load(w0 + i), xv, a0);
                a1 = TOps.Fma(TOps.Load(w1 + i), xv, a1);
                a2 = TOps.Fma(TOps.Load(w2 + i), xv, a2);
                a3 = TOps.Fma(TOps.Load(w3 + i), xv, a3);
            }
            float s0 = TOps.Sum(a0), s1 = TOps.Sum(a1), s2 = TOps.Sum(a2), s3 = TOps.Sum(a3);
            for (; i < k; i++)
            {
                s0 += w0[i] * x[i]; s1 += w1[i] * x[i]; s2 += w2[i] * x[i]; s3 += w3[i] * x[i];
            }
            y[o] = (bias == null ? 0f : bias[o]) + s0;
            y[o + 1] = (bias == null ? 0f : bias[o + 1]) + s1;
            y[o + 2] = (bias == null ? 0f : bias[o + 2]) + s2;
            y[o + 3] = (bias == null ? 0f : bias[o + 3]) + s3;
        }
        for (; o < m; o++)
        {
            float* w0 = w + (long)o * k;
            TV a0 = TOps.Zero;
            int i = 0;
            for (; i + lanes <= k; i += lanes) a0 = TOps.Fma(TOps.Load(w0 + i), TOps.Load(x + i), a0);
            float s0 = TOps.Sum(a0);
            for (; i < k; i++) s0 += w0[i] * x[i];
            y[o] = (bias == null ? 0f : bias[o]) + s0;
        }
    }
}
