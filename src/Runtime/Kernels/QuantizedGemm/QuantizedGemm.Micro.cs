using System.Runtime.CompilerServices;

namespace MobileViT.Compiled.Kernels;

public static unsafe partial class QuantizedGemm
{
    /// <summary>
    /// Blocks of Vectors x Lanes pixels (outer) x panels of 8 rows (inner): a block's activations (K/4 x block x 4
    /// bytes, 15 KiB at K = 640 with 3 x 256 bits) stay in L1 while every weight panel streams past them from L2.
    /// </summary>
    private static void Run<TOps, TV>(ref Job j) where TOps : struct, IQuadDot<TV> where TV : struct
    {
        int lanes = TOps.Lanes, block = TOps.Vectors * lanes, kq = j.KQuads, m = j.M, n = j.N;
        long lda = (long)j.Np * 4;
        int* corr = stackalloc int[QuantizedWeights.PanelRows];
        float* scale = stackalloc float[QuantizedWeights.PanelRows];
        float* bias = stackalloc float[QuantizedWeights.PanelRows];
        for (int q0 = 0; q0 < n; q0 += block)
        {
            int cols = Math.Min(block, n - q0), nv = (cols + lanes - 1) / lanes;
            byte* a = j.A + (long)q0 * 4;
            for (int m0 = 0; m0 < m; m0 += QuantizedWeights.PanelRows)
            {
                int rows = Math.Min(QuantizedWeights.PanelRows, m - m0);
                for (int r = 0; r < QuantizedWeights.PanelRows; r++)
                {
                    bool live = r < rows;
                    corr[r] = live ? j.ZeroPoint * j.RowSums[m0 + r] : 0;
                    scale[r] = live ? j.ScaleA * j.Scales[m0 + r] : 0f;
                    bias[r] = live && j.Bias != null ? j.Bias[m0 + r] : 0f;
                }
                byte* w = j.W + (long)m0 * kq * 4;
                float* c = j.C + (long)m0 * n + q0;
                float* res = j.Res == null ? null : j.Res + (long)m0 * n + q0;
                if (TOps.Rows == 8)
                {
                    if (nv == 3) Micro8x3<TOps, TV>(kq, w, a, lda, corr, scale, bias, c, res, n, rows, cols, j.Raw);
                    else if (nv == 2) Micro8x2<TOps, TV>(kq, w, a, lda, corr, scale, bias, c, res, n, rows, cols, j.Raw);
                    else Micro8x1<TOps, TV>(kq, w, a, lda, corr, scale, bias, c, res, n, rows, cols, j.Raw);
                }
                else
                {
                    for (int r0 = 0; r0 < rows; r0 += 4)
                    {
                        int hr = Math.Min(4, rows - r0);
                        float* ch = c + (long)r0 * n, rh = res == null ? null : res + (long)r0 * n;
                        if (nv == 3) Micro4x3<TOps, TV>(kq, w + r0 * 4, a, lda, corr + r0, scale + r0, bias + r0, ch, rh, n, hr, cols, j.Raw);
                        else if (nv == 2) Micro4x2<TOps, TV>(kq, w + r0 * 4, a, lda, corr + r0, scale + r0, bias + r0, ch, rh, n, hr, cols, j.Raw);
                        else Micro4x1<TOps, TV>(kq, w + r0 * 4, a, lda, corr + r0, scale + r0, bias + r0, ch, rh, n, hr, cols, j.Raw);
                    }
                }
            }
        }
    }

    // One non-inlined method per tile shape; the body is inlined with constant mr/nv so unused accumulators vanish.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro8x3<TOps, TV>(int kq, byte* w, byte* a, long lda, int* corr, float* scale, float* bias, float* c, float* res, int ldc, int rows, int cols, bool raw)
        where TOps : struct, IQuadDot<TV> where TV : struct
        => Micro<TOps, TV>(8, 3, kq, w, a, lda, corr, scale, bias, c, res, ldc, rows, cols, raw);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro8x2<TOps, TV>(int kq, byte* w, byte* a, long lda, int* corr, float* scale, float* bias, float* c, float* res, int ldc, int rows, int cols, bool raw)
        where TOps : struct, IQuadDot<TV> where TV : struct
        => Micro<TOps, TV>(8, 2, kq, w, a, lda, corr, scale, bias, c, res, ldc, rows, cols, raw);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro8x1<TOps, TV>(int kq, byte* w, byte* a, long lda, int* corr, float* scale, float* bias, float* c, float* res, int ldc, int rows, int cols, bool raw)
        where TOps : struct, IQuadDot<TV> where TV : struct
        => Micro<TOps, TV>(8, 1, kq, w, a, lda, corr, scale, bias, c, res, ldc, rows, cols, raw);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro4x3<TOps, TV>(int kq, byte* w, byte* a, long lda, int* corr, float* scale, float* bias, float* c, float* res, int ldc, int rows, int cols, bool raw)
        where TOps : struct, IQuadDot<TV> where TV : struct
        => Micro<TOps, TV>(4, 3, kq, w, a, lda, corr, scale, bias, c, res, ldc, rows, cols, raw);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro4x2<TOps, TV>(int kq, byte* w, byte* a, long lda, int* corr, float* scale, float* bias, float* c, float* res, int ldc, int rows, int cols, bool raw)
        where TOps : struct, IQuadDot<TV> where TV : struct
        => Micro<TOps, TV>(4, 2, kq, w, a, lda, corr, scale, bias, c, res, ldc, rows, cols, raw);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro4x1<TOps, TV>(int kq, byte* w, byte* a, long lda, int* corr, float* scale, float* bias, float* c, float* res, int ldc, int rows, int cols, bool raw)
        where TOps : struct, IQuadDot<TV> where TV : struct
        => Micro<TOps, TV>(4, 1, kq, w, a, lda, corr, scale, bias, c, res, ldc, rows, cols, raw);

    /// <summary>
    /// mr x nv-vector tile of int32 accumulators over all kq k-quads: w is the weight panel (8 rows x 4 bytes per quad,
    /// the tile's rows at its start), a the block's activations (lda bytes per quad).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Micro<TOps, TV>(int mr, int nv, int kq, byte* w, byte* a, long lda, int* corr, float* scale, float* bias,
        float* c, float* res, int ldc, int rows, int cols, bool raw)
        where TOps : struct, IQuadDot<TV> where TV : struct
    {
        int step = TOps.Lanes * 4;
        TV c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero;
        TV c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero;
        TV c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero;
        TV c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero;
        TV c40 = TOps.Zero, c41 = TOps.Zero, c42 = TOps.Zero;
        TV c50 = TOps.Zero, c51 = TOps.Zero, c52 = TOps.Zero;
        TV c60 = TOps.Zero, c61 = TOps.Zero, c62 = TOps.Zero;
        TV c70 = TOps.Zero, c71 = TOps.Zero, c72 = TOps.Zero;
        byte* wq = w;
        for (int i = 0; i < kq; i++, wq += QuantizedWeights.PanelRows * 4, a += lda)
        {
            TV a0 = TOps.Load(a), a1 = default, a2 = default, wv;
            if (nv > 1) a1 = TOps.Load(a + step);
            if (nv > 2) a2 = TOps.Load(a + 2 * step);
            wv = TOps.Broadcast(wq + 0); c00 = TOps.Dot(c00, a0, wv); if (nv > 1) c01 = TOps.Dot(c01, a1, wv); if (nv > 2) c02 = TOps.Dot(c02, a2, wv);
            wv = TOps.Broadcast(wq + 4); c10 = TOps.Dot(c10, a0, wv); if (nv > 1) c11 = TOps.Dot(c11, a1, wv); if (nv > 2) c12 = TOps.Dot(c12, a2, wv);
            wv = TOps.Broadcast(wq + 8); c20 = TOps.Dot(c20, a0, wv); if (nv > 1) c21 = TOps.Dot(c21, a1, wv); if (nv > 2) c22 = TOps.Dot(c22, a2, wv);
            wv = TOps.Broadcast(wq + 12); c30 = TOps.Dot(c30, a0, wv); if (nv > 1) c31 = TOps.Dot(c31, a1, wv); if (nv > 2) c32 = TOps.Dot(c32, a2, wv);
            if (mr == 8)
            {
                wv = TOps.Broadcast(wq + 16); c40 = TOps.Dot(c40, a0, wv); if (nv > 1) c41 = TOps.Dot(c41, a1, wv); if (nv > 2) c42 = TOps.Dot(c42, a2, wv);
                wv = TOps.Broadcast(wq + 20); c50 = TOps.Dot(c50, a0, wv); if (nv > 1) c51 = TOps.Dot(c51, a1, wv); if (nv > 2) c52 = TOps.Dot(c52, a2, wv);
                wv = TOps.Broadcast(wq + 24); c60 = TOps.Dot(c60, a0, wv); if (nv > 1) c61 = TOps.Dot(c61, a1, wv); if (nv > 2) c62 = TOps.Dot(c62, a2, wv);
                wv = TOps.Broadcast(wq + 28); c70 = TOps.Dot(c70, a0, wv); if (nv > 1) c71 = TOps.Dot(c71, a1, wv); if (nv > 2) c72 = TOps.Dot(c72, a2, wv);
            }
        }
        if (rows > 0) StoreRow<TOps, TV>(nv, c00, c01, c02, corr[0], scale[0], bias[0], c + 0L * ldc, res == null ? null : res + 0L * ldc, cols, raw);
        if (rows > 1) StoreRow<TOps, TV>(nv, c10, c11, c12, corr[1], scale[1], bias[1], c + 1L * ldc, res == null ? null : res + 1L * ldc, cols, raw);
        if (rows > 2) StoreRow<TOps, TV>(nv, c20, c21, c22, corr[2], scale[2], bias[2], c + 2L * ldc, res == null ? null : res + 2L * ldc, cols, raw);
        if (rows > 3) StoreRow<TOps, TV>(nv, c30, c31, c32, corr[3], scale[3], bias[3], c + 3L * ldc, res == null ? null : res + 3L * ldc, cols, raw);
        if (mr == 8 && rows > 4) StoreRow<TOps, TV>(nv, c40, c41, c42, corr[4], scale[4], bias[4], c + 4L * ldc, res == null ? null : res + 4L * ldc, cols, raw);
        if (mr == 8 && rows > 5) StoreRow<TOps, TV>(nv, c50, c51, c52, corr[5], scale[5], bias[5], c + 5L * ldc, res == null ? null : res + 5L * ldc, cols, raw);
        if (mr == 8 && rows > 6) StoreRow<TOps, TV>(nv, c60, c61, c62, corr[6], scale[6], bias[6], c + 6L * ldc, res == null ? null : res + 6L * ldc, cols, raw);
        if (mr == 8 && rows > 7) StoreRow<TOps, TV>(nv, c70, c71, c72, corr[7], scale[7], bias[7], c + 7L * ldc, res == null ? null : res + 7L * ldc, cols, raw);
    }

    /// <summary>One output row of the tile: nv vectors, the last one cut at cols.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TOps, TV>(int nv, TV x0, TV x1, TV x2, int corr, float scale, float bias, float* c, float* res,
        int cols, bool raw)
        where TOps : struct, IQuadDot<TV> where TV : struct
    {
        int lanes = TOps.Lanes;
        TOps.Store(x0, corr, scale, bias, c, res, Math.Min(lanes, cols), raw);
        if (nv > 1) TOps.Store(x1, corr, scale, bias, c + lanes, res == null ? null : res + lanes, Math.Min(lanes, cols - lanes), raw);
        if (nv > 2) TOps.Store(x2, corr, scale, bias, c + 2 * lanes, res == null ? null : res + 2 * lanes, Math.Min(lanes, cols - 2 * lanes), raw);
    }
}
