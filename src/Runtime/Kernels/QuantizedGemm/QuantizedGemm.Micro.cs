using System.Runtime.CompilerServices;

namespace MobileViT.Compiled.Kernels;

public static unsafe partial class QuantizedGemm
{
    /// <summary>Pixels per tile of the packed activations, and a tile's bytes per k-quad (one cache line).</summary>
    internal const int TilePixels = 16, TileBytes = TilePixels * 4;

    /// <summary>The largest quantized activation: 254 levels, so q - 127 is a signed byte whose negation is one too.</summary>
    internal const int MaxActivation = 254;

    /// <summary>Byte offset of pixel p's quad 0 in the packed activations: tile p / 16, lane p % 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long TileOffset(int p, int kq) => ((long)(p / TilePixels) * kq) * TileBytes + (p % TilePixels) * 4;

    /// <summary>
    /// Chunks of pixels (<see cref="ChunkPixels"/>, outer) x panels of 8 rows x blocks of Vectors x Lanes pixels
    /// (inner): a chunk's activations (about 32 KiB) stay in L1/L2 while one weight panel (8 x K bytes, L1) sweeps its
    /// blocks, so each output row is written as one contiguous run of the chunk's pixels. Blocks outside and panels
    /// inside (every block sweeping all M rows) wrote one cache line per row per block: at 64 -> 256 x 4096 pixels, rows
    /// 16 KiB apart all fell in the same cache sets, and the AVX-VNNI path ran at 0.8 of the float GEMM.
    /// Each vector of a block reads its tile's cache lines in order (64 bytes per quad): with the activations as
    /// [K/4][N][4] rows instead, the 4 KiB row stride at N = 1024 put every quad in the same L1 set, and the AVX-VNNI
    /// path ran at half the float GEMM's speed.
    /// Computes pixels [p0, p1) of rows [m0Start, m1): p0 a multiple of the block, m0Start of the panel (what the threads split).
    /// </summary>
    private static void Run<TOps, TV, TAct>(ref Job j, int p0, int p1, int m0Start, int m1) where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
    {
        int block = TOps.Vectors * TOps.Lanes, n = j.N, m = m1;
        int chunk = ChunkPixels(j.KQuads, block);
        int* tile = stackalloc int[QuantizedWeights.PanelRows * 3 * 16];
        // With an activation pass, the panel's plain results go to this L1 buffer (rows chunk apart) and the pass writes
        // the output: a residual aliasing the output is read before its place is written, and the output is written once.
        bool pass = ActivationPass<TAct>() && !j.Raw;
        float* staged = stackalloc float[pass ? QuantizedWeights.PanelRows * chunk : 0];
        for (int c0 = p0; c0 < p1; c0 += chunk)
        for (int m0 = m0Start; m0 < m; m0 += QuantizedWeights.PanelRows)
        {
            int rows = Math.Min(QuantizedWeights.PanelRows, m - m0), c1 = Math.Min(p1, c0 + chunk);
            float* c = j.C + (long)m0 * n, res = j.Res == null ? null : j.Res + (long)m0 * n;
            if (pass)
            {
                Blocks<TOps, TV, Identity>(ref j, c0, c1, m0, rows, staged - c0, chunk, null, tile);
                Activate<TAct>(staged, chunk, c + c0, res == null ? null : res + c0, n, rows, c1 - c0);
            }
            else Blocks<TOps, TV, TAct>(ref j, c0, c1, m0, rows, c, n, res, tile);
        }
    }

    /// <summary>
    /// One panel's rows (m0, rows of them) over the blocks of pixels [c0, c1): c and res point at the panel's row 0,
    /// pixel 0, rows ldc apart (res, if any, as the output's); tile is the microkernels' scratch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Blocks<TOps, TV, TAct>(ref Job j, int c0, int c1, int m0, int rows, float* c, int ldc, float* res, int* tile)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Lanes, block = TOps.Vectors * lanes, kq = j.KQuads;
        RowEpilogue* rowsHere = j.Rows + m0;
        byte* w = j.W + (long)m0 * kq * 4;
        for (int q0 = c0; q0 < c1; q0 += block)
        {
            int cols = Math.Min(block, c1 - q0), nv = (cols + lanes - 1) / lanes;
            // Vector v of the block starts at pixel q0 + v * lanes: its own tile of 16 pixels (all three may share one).
            byte* a = j.A + TileOffset(q0, kq);
            long off1 = TileOffset(q0 + lanes, kq) - TileOffset(q0, kq), off2 = TileOffset(q0 + 2 * lanes, kq) - TileOffset(q0, kq);
            float* cq = c + q0, rq = res == null ? null : res + q0, sA = j.PixelScales + q0;
            int* zp = j.PixelZeroPoints + q0;
            if (TOps.Rows == 8)
            {
                if (nv == 3) Micro8x3<TOps, TV, TAct>(kq, w, a, off1, off2, rowsHere, zp, sA, cq, rq, ldc, rows, cols, j.Raw, tile);
                else if (nv == 2) Micro8x2<TOps, TV, TAct>(kq, w, a, off1, off2, rowsHere, zp, sA, cq, rq, ldc, rows, cols, j.Raw, tile);
                else Micro8x1<TOps, TV, TAct>(kq, w, a, off1, off2, rowsHere, zp, sA, cq, rq, ldc, rows, cols, j.Raw, tile);
                continue;
            }
            for (int r0 = 0; r0 < rows; r0 += 4)
            {
                int hr = Math.Min(4, rows - r0);
                float* ch = cq + (long)r0 * ldc, rh = rq == null ? null : rq + (long)r0 * ldc;
                if (nv == 3) Micro4x3<TOps, TV, TAct>(kq, w + r0 * 4, a, off1, off2, rowsHere + r0, zp, sA, ch, rh, ldc, hr, cols, j.Raw, tile);
                else if (nv == 2) Micro4x2<TOps, TV, TAct>(kq, w + r0 * 4, a, off1, off2, rowsHere + r0, zp, sA, ch, rh, ldc, hr, cols, j.Raw, tile);
                else Micro4x1<TOps, TV, TAct>(kq, w + r0 * 4, a, off1, off2, rowsHere + r0, zp, sA, ch, rh, ldc, hr, cols, j.Raw, tile);
            }
        }
    }

    /// <summary>
    /// Pixels per chunk: whole blocks whose packed activations (K/4 quads x 4 bytes per pixel) fill about 32 KiB, at
    /// most 512 pixels (a panel's staged results, 8 rows of them, stay at 16 KiB).
    /// </summary>
    private static int ChunkPixels(int kq, int block) => Math.Clamp(32 * 1024 / (kq * 4 * block), 1, Math.Max(1, 512 / block)) * block;

    // One non-inlined method per tile shape; the body is inlined with constant mr/nv so unused accumulators vanish.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro8x3<TOps, TV, TAct>(int kq, byte* w, byte* a, long off1, long off2, RowEpilogue* rowParams, int* zp, float* sA, float* c, float* res, int ldc, int rows, int cols, bool raw, int* tile)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(8, 3, kq, w, a, off1, off2, rowParams, zp, sA, c, res, ldc, rows, cols, raw, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro8x2<TOps, TV, TAct>(int kq, byte* w, byte* a, long off1, long off2, RowEpilogue* rowParams, int* zp, float* sA, float* c, float* res, int ldc, int rows, int cols, bool raw, int* tile)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(8, 2, kq, w, a, off1, off2, rowParams, zp, sA, c, res, ldc, rows, cols, raw, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro8x1<TOps, TV, TAct>(int kq, byte* w, byte* a, long off1, long off2, RowEpilogue* rowParams, int* zp, float* sA, float* c, float* res, int ldc, int rows, int cols, bool raw, int* tile)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(8, 1, kq, w, a, off1, off2, rowParams, zp, sA, c, res, ldc, rows, cols, raw, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro4x3<TOps, TV, TAct>(int kq, byte* w, byte* a, long off1, long off2, RowEpilogue* rowParams, int* zp, float* sA, float* c, float* res, int ldc, int rows, int cols, bool raw, int* tile)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(4, 3, kq, w, a, off1, off2, rowParams, zp, sA, c, res, ldc, rows, cols, raw, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro4x2<TOps, TV, TAct>(int kq, byte* w, byte* a, long off1, long off2, RowEpilogue* rowParams, int* zp, float* sA, float* c, float* res, int ldc, int rows, int cols, bool raw, int* tile)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(4, 2, kq, w, a, off1, off2, rowParams, zp, sA, c, res, ldc, rows, cols, raw, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro4x1<TOps, TV, TAct>(int kq, byte* w, byte* a, long off1, long off2, RowEpilogue* rowParams, int* zp, float* sA, float* c, float* res, int ldc, int rows, int cols, bool raw, int* tile)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(4, 1, kq, w, a, off1, off2, rowParams, zp, sA, c, res, ldc, rows, cols, raw, tile);

    /// <summary>
    /// mr x nv-vector tile of int32 accumulators over all kq k-quads: w is the weight panel (8 rows x 4 bytes per quad,
    /// the tile's rows at its start), a the block's first vector of activations, off1 and off2 where its second and third
    /// start (<see cref="TileBytes"/> per quad each).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Micro<TOps, TV, TAct>(int mr, int nv, int kq, byte* w, byte* a, long off1, long off2, RowEpilogue* rowParams,
        int* zp, float* sA, float* c, float* res, int ldc, int rows, int cols, bool raw, int* tile)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Lanes;
        TV c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero;
        TV c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero;
        TV c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero;
        TV c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero;
        TV c40 = TOps.Zero, c41 = TOps.Zero, c42 = TOps.Zero;
        TV c50 = TOps.Zero, c51 = TOps.Zero, c52 = TOps.Zero;
        TV c60 = TOps.Zero, c61 = TOps.Zero, c62 = TOps.Zero;
        TV c70 = TOps.Zero, c71 = TOps.Zero, c72 = TOps.Zero;
        byte* wq = w;
        for (int i = 0; i < kq; i++, wq += QuantizedWeights.PanelRows * 4, a += TileBytes)
        {
            TV a0 = TOps.Load(a), a1 = default, a2 = default, wv;
            if (nv > 1) a1 = TOps.Load(a + off1);
            if (nv > 2) a2 = TOps.Load(a + off2);
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
        if (!raw && cols == nv * lanes)
        {
            // Whole blocks (all but the last): converted and stored straight from the registers.
            if (rows > 0) FullRow<TOps, TV, TAct>(nv, c00, c01, c02, rowParams[0], zp, sA, c + 0L * ldc, res == null ? null : res + 0L * ldc);
            if (rows > 1) FullRow<TOps, TV, TAct>(nv, c10, c11, c12, rowParams[1], zp, sA, c + 1L * ldc, res == null ? null : res + 1L * ldc);
            if (rows > 2) FullRow<TOps, TV, TAct>(nv, c20, c21, c22, rowParams[2], zp, sA, c + 2L * ldc, res == null ? null : res + 2L * ldc);
            if (rows > 3) FullRow<TOps, TV, TAct>(nv, c30, c31, c32, rowParams[3], zp, sA, c + 3L * ldc, res == null ? null : res + 3L * ldc);
            if (mr == 8)
            {
                if (rows > 4) FullRow<TOps, TV, TAct>(nv, c40, c41, c42, rowParams[4], zp, sA, c + 4L * ldc, res == null ? null : res + 4L * ldc);
                if (rows > 5) FullRow<TOps, TV, TAct>(nv, c50, c51, c52, rowParams[5], zp, sA, c + 5L * ldc, res == null ? null : res + 5L * ldc);
                if (rows > 6) FullRow<TOps, TV, TAct>(nv, c60, c61, c62, rowParams[6], zp, sA, c + 6L * ldc, res == null ? null : res + 6L * ldc);
                if (rows > 7) FullRow<TOps, TV, TAct>(nv, c70, c71, c72, rowParams[7], zp, sA, c + 7L * ldc, res == null ? null : res + 7L * ldc);
            }
            return;
        }
        Park<TOps, TV, TAct>(nv, c00, c01, c02, tile + 0 * lanes);
        Park<TOps, TV, TAct>(nv, c10, c11, c12, tile + 3 * lanes);
        Park<TOps, TV, TAct>(nv, c20, c21, c22, tile + 6 * lanes);
        Park<TOps, TV, TAct>(nv, c30, c31, c32, tile + 9 * lanes);
        if (mr == 8)
        {
            Park<TOps, TV, TAct>(nv, c40, c41, c42, tile + 12 * lanes);
            Park<TOps, TV, TAct>(nv, c50, c51, c52, tile + 15 * lanes);
            Park<TOps, TV, TAct>(nv, c60, c61, c62, tile + 18 * lanes);
            Park<TOps, TV, TAct>(nv, c70, c71, c72, tile + 21 * lanes);
        }
        Epilogue<TOps, TV, TAct>(tile, Math.Min(rows, mr), nv, rowParams, zp, sA, c, res, ldc, cols, raw);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FullRow<TOps, TV, TAct>(int nv, TV x0, TV x1, TV x2, RowEpilogue row, int* zp, float* sA, float* c, float* res)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Lanes;
        TOps.StoreFull<TAct>(x0, row, zp, sA, c, res);
        if (nv > 1) TOps.StoreFull<TAct>(x1, row, zp + lanes, sA + lanes, c + lanes, res == null ? null : res + lanes);
        if (nv > 2) TOps.StoreFull<TAct>(x2, row, zp + 2 * lanes, sA + 2 * lanes, c + 2 * lanes, res == null ? null : res + 2 * lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Park<TOps, TV, TAct>(int nv, TV x0, TV x1, TV x2, int* tile)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
    {
        TOps.Park(x0, tile);
        if (nv > 1) TOps.Park(x1, tile + TOps.Lanes);
        if (nv > 2) TOps.Park(x2, tile + 2 * TOps.Lanes);
    }

    /// <summary>
    /// The tile's rows (3 vectors apart in <paramref name="tile"/>) to floats, the last vector cut at cols. A separate
    /// call after the accumulators are parked: live across a call, the JIT stored every accumulator to the stack at
    /// each multiply-add of the k loop (its spill-at-definition heuristic), which halved the AVX-VNNI kernel's speed.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Epilogue<TOps, TV, TAct>(int* tile, int rows, int nv, RowEpilogue* rowParams, int* zp, float* sA, float* c, float* res,
        int ldc, int cols, bool raw)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Lanes;
        for (int r = 0; r < rows; r++, tile += 3 * lanes, c += ldc)
        {
            float* rr = res == null ? null : res + (long)r * ldc;
            for (int v = 0; v < nv; v++)
                TOps.Store<TAct>(TOps.Unpark(tile + v * lanes), rowParams[r], zp + v * lanes, sA + v * lanes, c + v * lanes, rr == null ? null : rr + v * lanes,
                    Math.Min(lanes, cols - v * lanes), raw);
        }
    }
}
