using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MobileViT.Compiled.Kernels;

public static unsafe partial class QuantizedGemm
{
    /// <summary>
    /// Whether the activation runs as a pass over each panel's chunk of results (staged in L1) rather than on the
    /// accumulator registers: all but the one-instruction ones (identity, ReLU). SiLU on the registers of the 256-bit
    /// AVX-VNNI tile made 64 -> 256 x 4096 pixels 0.29 ms slower (0.77 ms against 0.48 without it: the vector unit is
    /// busy with the dot products, and 16 inlined SiLUs crowd the tile's registers); as a pass at the widest float
    /// width, 0.10 ms.
    /// </summary>
    private static bool ActivationPass<TAct>() where TAct : struct, IActivation
        => typeof(TAct) != typeof(Identity) && typeof(TAct) != typeof(Relu);

    /// <summary>The width of the activation pass: the float kernels' (what <c>KernelInfo</c> reports for activations).</summary>
    internal static Isa ActivationTier => KernelIsa.Best;

    /// <summary>c = act(src) (+ res) on rows x cols floats: src rows lds apart, c and res (null for none) ldc apart.</summary>
    private static void Activate<TAct>(float* src, int lds, float* c, float* res, int ldc, int rows, int cols) where TAct : struct, IActivation
    {
        switch (ActivationTier)
        {
            case Isa.Vector512: Activate<Ops512, Vector512<float>, TAct>(src, lds, c, res, ldc, rows, cols); break;
            case Isa.Vector256: Activate<Ops256, Vector256<float>, TAct>(src, lds, c, res, ldc, rows, cols); break;
            case Isa.Vector128: Activate<Ops128, Vector128<float>, TAct>(src, lds, c, res, ldc, rows, cols); break;
            default: Activate<OpsScalar, float, TAct>(src, lds, c, res, ldc, rows, cols); break;
        }
    }

    /// <summary>The last partial vector goes through a buffer, so every float takes the same vector arithmetic.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Activate<TOps, TV, TAct>(float* src, int lds, float* c, float* res, int ldc, int rows, int cols)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count;
        float* tail = stackalloc float[16];
        for (int r = 0; r < rows; r++, src += lds, c += ldc, res = res == null ? null : res + ldc)
        {
            int p = 0;
            for (; p + lanes <= cols; p += lanes)
            {
                var y = TOps.Act<TAct>(TOps.Load(src + p));
                if (res != null) y = TOps.Add(y, TOps.Load(res + p));
                TOps.Store(c + p, y);
            }
            if (p == cols) continue;
            int left = cols - p;
            for (int i = 0; i < left; i++) tail[i] = src[p + i];
            TOps.Store(tail, TOps.Act<TAct>(TOps.Load(tail)));
            for (int i = 0; i < left; i++) c[p + i] = res == null ? tail[i] : tail[i] + res[p + i];
        }
    }
}
