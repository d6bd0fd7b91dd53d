using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// The GEMM for 1-4 pixels (a 2x2 map: the last stage of a 64x64 input): vectorized over output channels instead of
/// pixels. The 3-vector pixel microkernel would use 4 of 16 lanes there; the weight panels already hold 8 output
/// channels contiguous per k, so a Vector256 of weights times a broadcast input value accumulates 8 channels of one
/// pixel. Tile: 2 panels (16 channels) x 4 pixels. Each output still sums bias then k in order, as the main kernel does.
/// </summary>
internal static unsafe partial class Gemm
{
    public const int TinyPixels = 4;

    /// <summary>Whether <see cref="Run"/> takes the channel-vectorized path for n pixels on this vector width.</summary>
    private static bool UsesTinyN<TOps, TV>(int n) where TOps : struct, IVecOps<TV> where TV : struct
        => n <= TinyPixels && TinyNApplies(TOps.Count);

    /// <summary>
    /// Whether a GEMM on vectors of <paramref name="lanes"/> floats has the tiny-N path (it needs Vector256 hardware;
    /// with 4 lanes the main microkernel's one vector already holds all 1-4 pixels). Also read by <see cref="KernelInfo"/>.
    /// </summary>
    internal static bool TinyNApplies(int lanes) => lanes >= 8 && Vector256.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TinyN<TOps, TV, TAct, TPacker>(ref TPacker packer, float* packedW, float* bias, float* output,
        float* residual, int k, int m, int n, float* panel)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation where TPacker : struct, IPanelPacker
    {
        int width = TOps.Count; // the packer writes k rows of one vector: n pixels, then zeros
        packer.Pack<TOps, TV>(panel, 0, n, width);
        float* bias16 = stackalloc float[16];
        float* tile = stackalloc float[8];
        for (int m0 = 0; m0 < m; m0 += 16)
        {
            int rows = Math.Min(16, m - m0);
            for (int r = 0; r < 16; r++) bias16[r] = r < rows && bias != null ? bias[m0 + r] : 0f;
            // The second panel of the tile may not exist (rows <= 8): it then reads the first panel again, unused.
            float* a0 = packedW + (long)m0 * k, a1 = rows > 8 ? a0 + 8L * k : a0;
            Vector256<float> c00 = Vector256.Load(bias16), c10 = Vector256.Load(bias16 + 8);
            Vector256<float> c01 = c00, c02 = c00, c03 = c00, c11 = c10, c12 = c10, c13 = c10;
            float* b = panel;
            for (int kk = 0; kk < k; kk++, b += width)
            {
                Vector256<float> w0 = Vector256.Load(a0 + kk * 8), w1 = Vector256.Load(a1 + kk * 8);
                Vector256<float> x0 = Vector256.Create(b[0]), x1 = Vector256.Create(b[1]);
                Vector256<float> x2 = Vector256.Create(b[2]), x3 = Vector256.Create(b[3]);
                c00 = Vector256.FusedMultiplyAdd(w0, x0, c00); c10 = Vector256.FusedMultiplyAdd(w1, x0, c10);
                c01 = Vector256.FusedMultiplyAdd(w0, x1, c01); c11 = Vector256.FusedMultiplyAdd(w1, x1, c11);
                c02 = Vector256.FusedMultiplyAdd(w0, x2, c02); c12 = Vector256.FusedMultiplyAdd(w1, x2, c12);
                c03 = Vector256.FusedMultiplyAdd(w0, x3, c03); c13 = Vector256.FusedMultiplyAdd(w1, x3, c13);
            }
            float* c = output + (long)m0 * n;
            float* res = residual == null ? null : residual + (long)m0 * n;
            int rows0 = Math.Min(8, rows), rows1 = rows - rows0;
            TinyColumn<TAct>(c00, c, res, 0, n, rows0, tile);
            if (n > 1) TinyColumn<TAct>(c01, c, res, 1, n, rows0, tile);
            if (n > 2) TinyColumn<TAct>(c02, c, res, 2, n, rows0, tile);
            if (n > 3) TinyColumn<TAct>(c03, c, res, 3, n, rows0, tile);
            if (rows1 > 0)
            {
                float* c8 = c + 8L * n, r8 = res == null ? null : res + 8L * n;
                TinyColumn<TAct>(c10, c8, r8, 0, n, rows1, tile);
                if (n > 1) TinyColumn<TAct>(c11, c8, r8, 1, n, rows1, tile);
                if (n > 2) TinyColumn<TAct>(c12, c8, r8, 2, n, rows1, tile);
                if (n > 3) TinyColumn<TAct>(c13, c8, r8, 3, n, rows1, tile);
            }
        }
    }

    /// <summary>c[r * n + p] = act(acc[r]) (+ res[r * n + p]) for r &lt; rows: one pixel of 8 output channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TinyColumn<TAct>(Vector256<float> acc, float* c, float* res, int p, int n, int rows, float* tile)
        where TAct : struct, IActivation
    {
        TAct.Invoke(acc).Store(tile);
        if (res == null) for (int r = 0; r < rows; r++) c[(long)r * n + p] = tile[r];
        else for (int r = 0; r < rows; r++) c[(long)r * n + p] = tile[r] + res[(long)r * n + p];
    }
}
