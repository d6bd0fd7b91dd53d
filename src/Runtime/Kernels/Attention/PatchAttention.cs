using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// MobileViT's unfold, multi-head self-attention and fold in one kernel: the unfold/fold are index mapping
/// (tokens at the same offset inside their patch attend to each other), so no patch tensor is ever built.
/// <para>
/// Per patch offset and head: gather Q (pre-scaled by log2(e)/sqrt(headDim)), K and V of the N tokens into scratch as
/// [headDim, N] (token-contiguous); then per block of queries: transposed scores St = K^T Q ([key, query]) with a
/// 4-row x 4-vector register tile, which also keeps each column's maximum; softmax down each column (vectorized over
/// queries; base-2, as Q carries log2(e)); context Ct = V St with the same tile; finally scaled by 1 / denominator
/// while being scattered straight into the output map.
/// Scratch: St (N * N at most, one query block of it in use), then Q, K, V ([headDim, N] each); Ct reuses Q's space.
/// </para>
/// </summary>
[SkipLocalsInit]
public static unsafe class PatchAttention
{
    /// <summary>Queries per block of scores (a multiple of 2 vectors on every path).</summary>
    private const int QueryBlock = 64;

    /// <summary>Scratch floats <see cref="Run"/> needs: tokens * tokens + 3 * tokens * headDim (the generator uses the same formula).</summary>
    public static int ScratchLength(int tokens, int headDim) => tokens * tokens + 3 * tokens * headDim;

    /// <param name="qkv">[3 * hidden, height, width]: query, key, value maps one after another.</param>
    /// <param name="output">[hidden, height, width]: the attention context (before the output projection).</param>
    public static void Run(ReadOnlySpan<float> qkv, Span<float> output, int hidden, int heads,
        int height, int width, int patchHeight, int patchWidth, Span<float> scratch, WorkerPool? pool = null)
        => RunIsa(qkv, output, hidden, heads, height, width, patchHeight, patchWidth, scratch, KernelIsa.Best, pool);

    internal static void RunIsa(ReadOnlySpan<float> qkv, Span<float> output, int hidden, int heads,
        int height, int width, int patchHeight, int patchWidth, Span<float> scratch, Isa isa,
        WorkerPool? pool = null)
    {
        int headDim = hidden / heads;
        int tokens = (height / patchHeight) * (width / patchWidth);
        if (tokens <= 0 || headDim <= 0) return;
        if (qkv.Length < 3 * hidden * height * width) throw new ArgumentException("qkv too short", nameof(qkv));
        if (output.Length < hidden * height * width) throw new ArgumentException("output too short", nameof(output));
        if (scratch.Length < ScratchLength(tokens, headDim)) throw new ArgumentException("scratch too short", nameof(scratch));
        fixed (float* pQkv = qkv, pOut = output, pScratch = scratch)
        {
            var a = new Args
            {
                Qkv = pQkv, Output = pOut, Scratch = pScratch, Hidden = hidden, Heads = heads, HeadDim = headDim,
                Height = height, Width = width, PatchHeight = patchHeight, PatchWidth = patchWidth, Tokens = tokens,
            };
            // Items are (patch offset, head) pairs: each writes its own output channels at its own pixels. The caller
            // uses the given scratch, other threads a buffer of their own.
            // Fewer tokens than lanes (4x4 and 8x8 maps: 4 and 16 tokens) take narrower vectors instead of scalar tails.
            if (isa == Isa.Vector512 && tokens < 16) isa = Isa.Vector256;
            if (isa == Isa.Vector256 && tokens < 8) isa = Isa.Vector128;
            delegate*<void*, int, int, void> body = isa switch
            {
                Isa.Vector512 => &Item<Ops512, Vector512<float>>,
                Isa.Vector256 => &Item<Ops256, Vector256<float>>,
                Isa.Vector128 => &Item<Ops128, Vector128<float>>,
                _ => &Item<OpsScalar, float>,
            };
            int items = patchHeight * patchWidth * heads;
            if (pool is null || pool.Threads == 1) for (int i = 0; i < items; i++) body(&a, i, 0);
            else pool.For(items, body, &a);
        }
    }

    private static void Item<TOps, TV>(void* state, int item, int thread) where TOps : struct, IVecOps<TV> where TV : struct
    {
        ref Args a = ref *(Args*)state;
        float* scratch = thread == 0 ? a.Scratch : KernelIsa.ThreadPointer(ScratchLength(a.Tokens, a.HeadDim));
        int offset = item / a.Heads, h = item - offset * a.Heads;
        Impl<TOps, TV>(in a, offset / a.PatchWidth, offset % a.PatchWidth, h, scratch);
    }

    private struct Args
    {
        public float* Qkv, Output, Scratch;
        public int Hidden, Heads, HeadDim, Height, Width, PatchHeight, PatchWidth, Tokens;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Impl<TOps, TV>(in Args a, int py, int px, int h, float* s) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int n = a.Tokens, dim = a.HeadDim;
        int pixels = a.Height * a.Width;
        int patchesX = a.Width / a.PatchWidth;
        // Q carries log2(e) too, so the scores are base-2 and the softmax needs 2^x, not e^x (fewer operations).
        float scale = (float)(1.4426950408889634 / Math.Sqrt(dim));
        int block = Math.Min(n, QueryBlock);
        // Q, K, V rows (one per head channel) are ld floats apart. With several query blocks the scores take only
        // block * n of the n * n floats, so when it fits the rows get 16 floats of slack: n a multiple of 256 (64x64
        // maps: 4 KiB rows) put all 16 rows a score tile reads in the same L1 cache set.
        int ld = block < n && (long)block * n + n + 3L * dim * (n + 16) <= (long)n * n + 3L * n * dim ? n + 16 : n;
        float* qt = block < n ? s + (long)block * n + n : s + (long)n * n;
        float* kt = qt + (long)ld * dim;
        float* vt = kt + (long)ld * dim;
        {
            int first = py * a.Width + px; // pixel of token 0
            {
                int q0 = h * dim, k0 = a.Hidden + h * dim, v0 = 2 * a.Hidden + h * dim;
                float* junk = stackalloc float[16];
                int rowStride = a.PatchHeight * a.Width;
                // Rows of 8-15 tokens (16x16 maps) de-interleave with 8-lane vectors rather than one by one.
                bool narrow = TOps.Count == 16 && patchesX < 16;
                for (int d = 0; d < dim; d++)
                {
                    float* q = a.Qkv + (long)(q0 + d) * pixels + first, k = a.Qkv + (long)(k0 + d) * pixels + first;
                    float* v = a.Qkv + (long)(v0 + d) * pixels + first;
                    if (narrow)
                    {
                        Gather<Ops256, Vector256<float>>(q, qt + (long)d * ld, n, patchesX, a.PatchWidth, rowStride, scale, px, junk);
                        Gather<Ops256, Vector256<float>>(k, kt + (long)d * ld, n, patchesX, a.PatchWidth, rowStride, 1f, px, junk);
                        Gather<Ops256, Vector256<float>>(v, vt + (long)d * ld, n, patchesX, a.PatchWidth, rowStride, 1f, px, junk);
                    }
                    else
                    {
                        Gather<TOps, TV>(q, qt + (long)d * ld, n, patchesX, a.PatchWidth, rowStride, scale, px, junk);
                        Gather<TOps, TV>(k, kt + (long)d * ld, n, patchesX, a.PatchWidth, rowStride, 1f, px, junk);
                        Gather<TOps, TV>(v, vt + (long)d * ld, n, patchesX, a.PatchWidth, rowStride, 1f, px, junk);
                    }
                }
                // Queries go in blocks of up to QueryBlock columns, so a block's scores (keys x block) stay in L2 while
                // the softmax and the context read them; the whole [n, n] at 1024 tokens (4 MiB) ran at a quarter of peak.
                // Every column is computed exactly as without blocks.
                // 1 / (softmax denominator) per query: after the scores block when there are several blocks (K is still
                // needed), in K's consumed space when one block covers all queries (scratch holds n * n + 3 n dim floats).
                float* inv = block < n ? s + (long)block * n : kt;
                float* max = stackalloc float[QueryBlock];
                for (int i0 = 0; i0 < n; i0 += block)
                {
                    int bw = Math.Min(block, n - i0);
                    // St[j, i] = sum_d K[d, j] Q[d, i]: the transposed scores, so that softmax runs down columns
                    // (vectorized over queries) and the context is a plain GEMM V x St.
                    // Each column's maximum is kept while the score tiles are stored.
                    for (int i = 0; i < bw; i++) max[i] = float.NegativeInfinity;
                    Scores<TOps, TV>(kt, qt + i0, ld, s, bw, n, bw, dim, max);
                    ColumnSoftmax<TOps, TV>(s, bw, n, bw, max, inv + i0);
                    // Ct[d, i] = sum_j V[d, j] St[j, i], into Q's space (this block's queries are consumed).
                    Gemm4x2<TOps, TV>(vt, ld, 1, s, bw, qt + i0, ld, dim, bw, n, null);
                }
                if (a.PatchWidth == 2 && patchesX % 16 == 0 && Avx512F.IsSupported)
                    ScatterPairs(qt, ld, inv, a.Output + (long)q0 * pixels + first - px, n, dim, pixels, patchesX, a.PatchHeight * a.Width, px);
                else Scatter(qt, ld, inv, a.Output + (long)q0 * pixels + first, n, dim, pixels, patchesX, a.PatchWidth, a.PatchHeight * a.Width);
            }
        }
    }

    /// <summary>
    /// dst[t] = src[(t / patchesX) * rowStride + (t % patchesX) * colStride] * scale. With 2-wide patches (colStride 2)
    /// a patch row's tokens are every other pixel of an image row: whole vectors of them by de-interleaving the row
    /// read from its even column (the odd offset, <paramref name="phase"/> 1, keeps the odd half, so no read passes
    /// the row's end), the columns past the last whole vector one by one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather<TOps, TV>(float* src, float* dst, int n, int patchesX, int colStride, int rowStride, float scale,
        int phase, float* junk)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        TV vscale = TOps.Broadcast(scale);
        int vectorCols = colStride == 2 ? patchesX / lanes * lanes : 0;
        int t = 0;
        for (float* row = src; t < n; row += rowStride)
        {
            int x = 0;
            for (; x < vectorCols; x += lanes, t += lanes)
            {
                TOps.Deinterleave(row - phase + 2 * x, phase == 0 ? dst + t : junk, phase == 0 ? junk : dst + t);
                if (scale != 1f) TOps.Store(dst + t, TOps.Mul(TOps.Load(dst + t), vscale));
            }
            for (; x < patchesX; x++, t++) dst[t] = row[x * colStride] * scale;
        }
    }

    /// <summary>
    /// C[r, col] = sum_k A[r, k] * B[k, col] for r &lt; rows, col &lt; cols, with A addressed as a[r * aRow + k * aK]
    /// and B, C row-major with strides ldb, ldc: a 4-row x 2-vector register tile, then 1-vector and scalar tails.
    /// With <paramref name="colMax"/>, colMax[col] = max(colMax[col], C[r, col]) over the rows as the tiles are stored
    /// (the scores' column maxima for the softmax, without another pass over them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemm4x2<TOps, TV>(float* a, int aRow, int aK, float* b, int ldb, float* c, int ldc, int rows, int cols, int k,
        float* colMax)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int r = 0;
        for (; r + 4 <= rows; r += 4) Rows<TOps, TV>(4, a + (long)r * aRow, aRow, aK, b, ldb, c + (long)r * ldc, ldc, cols, k, colMax);
        for (; r < rows; r++) Rows<TOps, TV>(1, a + (long)r * aRow, aRow, aK, b, ldb, c + (long)r * ldc, ldc, cols, k, colMax);
    }

    /// <summary>
    /// St[j, i] = sum_d K[d, j] Q[d, i] for keys j &lt; n, queries i &lt; cols (K and Q rows ld apart, St rows ldc apart),
    /// and colMax[i] = max over j. With 32 registers, whole 4-vector column blocks go through one loop over all keys
    /// in 4-row tiles, the running maxima in registers; at 16 reduction steps per tile, a call and a memory round
    /// trip of the maxima per tile (the general <see cref="Gemm4x2"/>) cost a tenth of the time. The rest (key and
    /// query tails, 16 registers) goes through <see cref="Gemm4x2"/>, in the same summation order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scores<TOps, TV>(float* k, float* q, int ld, float* st, int ldc, int n, int cols, int dim, float* colMax)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, j = 0, rows = n / 4 * 4;
        if (TOps.Mr8)
            for (; j + 4 * lanes <= cols; j += 4 * lanes)
            {
                TV m0 = TOps.Load(colMax + j), m1 = TOps.Load(colMax + j + lanes);
                TV m2 = TOps.Load(colMax + j + 2 * lanes), m3 = TOps.Load(colMax + j + 3 * lanes);
                for (int r = 0; r < rows; r += 4)
                {
                    TV c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
                    TV c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
                    TV c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
                    TV c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
                    float* a = k + r, b = q + j;
                    for (int d = 0; d < dim; d++, a += ld, b += ld)
                    {
                        TV b0 = TOps.Load(b), b1 = TOps.Load(b + lanes), b2 = TOps.Load(b + 2 * lanes), b3 = TOps.Load(b + 3 * lanes);
                        TV w = TOps.Broadcast(a[0]);
                        c00 = TOps.Fma(w, b0, c00); c01 = TOps.Fma(w, b1, c01); c02 = TOps.Fma(w, b2, c02); c03 = TOps.Fma(w, b3, c03);
                        w = TOps.Broadcast(a[1]);
                        c10 = TOps.Fma(w, b0, c10); c11 = TOps.Fma(w, b1, c11); c12 = TOps.Fma(w, b2, c12); c13 = TOps.Fma(w, b3, c13);
                        w = TOps.Broadcast(a[2]);
                        c20 = TOps.Fma(w, b0, c20); c21 = TOps.Fma(w, b1, c21); c22 = TOps.Fma(w, b2, c22); c23 = TOps.Fma(w, b3, c23);
                        w = TOps.Broadcast(a[3]);
                        c30 = TOps.Fma(w, b0, c30); c31 = TOps.Fma(w, b1, c31); c32 = TOps.Fma(w, b2, c32); c33 = TOps.Fma(w, b3, c33);
                    }
                    float* c0 = st + (long)r * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
                    TOps.Store(c0, c00); TOps.Store(c0 + lanes, c01); TOps.Store(c0 + 2 * lanes, c02); TOps.Store(c0 + 3 * lanes, c03);
                    TOps.Store(c1, c10); TOps.Store(c1 + lanes, c11); TOps.Store(c1 + 2 * lanes, c12); TOps.Store(c1 + 3 * lanes, c13);
                    TOps.Store(c2, c20); TOps.Store(c2 + lanes, c21); TOps.Store(c2 + 2 * lanes, c22); TOps.Store(c2 + 3 * lanes, c23);
                    TOps.Store(c3, c30); TOps.Store(c3 + lanes, c31); TOps.Store(c3 + 2 * lanes, c32); TOps.Store(c3 + 3 * lanes, c33);
                    m0 = TOps.Max(m0, TOps.Max(TOps.Max(c00, c10), TOps.Max(c20, c30)));
                    m1 = TOps.Max(m1, TOps.Max(TOps.Max(c01, c11), TOps.Max(c21, c31)));
                    m2 = TOps.Max(m2, TOps.Max(TOps.Max(c02, c12), TOps.Max(c22, c32)));
                    m3 = TOps.Max(m3, TOps.Max(TOps.Max(c03, c13), TOps.Max(c23, c33)));
                }
                TOps.Store(colMax + j, m0); TOps.Store(colMax + j + lanes, m1);
                TOps.Store(colMax + j + 2 * lanes, m2); TOps.Store(colMax + j + 3 * lanes, m3);
            }
        // Key rows past the last 4 for the blocks above, then the query columns past them for every key.
        if (j > 0 && rows < n) Gemm4x2<TOps, TV>(k + rows, 1, ld, q, ld, st + (long)rows * ldc, ldc, n - rows, j, dim, colMax);
        if (j < cols) Gemm4x2<TOps, TV>(k, 1, ld, q + j, ld, st + j, ldc, n, cols - j, dim, colMax + j);
    }

    /// <summary>m[0..] = max(m, max of the tile's rows) for one vector column of a 4-row (or 1-row) tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeepMax<TOps, TV>(int rows, float* m, TV x0, TV x1, TV x2, TV x3)
        where TOps : struct, IVecOps<TV> where TV : struct
        => TOps.Store(m, TOps.Max(TOps.Load(m), rows > 1 ? TOps.Max(TOps.Max(x0, x1), TOps.Max(x2, x3)) : x0));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows<TOps, TV>(int rows, float* a, int aRow, int aK, float* b, int ldb, float* c, int ldc, int cols, int k,
        float* colMax)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        float* a1 = a + aRow, a2 = a + 2 * aRow, a3 = a + 3 * aRow;
        int j = 0;
        // With 32 vector registers a 4 x 4-vector tile: 16 FMAs per 4 loads + 4 broadcasts (the 4 x 2 tile is load-bound).
        if (TOps.Mr8 && rows == 4)
            for (; j + 4 * lanes <= cols; j += 4 * lanes)
            {
                TV c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
                TV c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
                TV c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
                TV c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
                float* bk = b + j;
                for (int kk = 0, ak = 0; kk < k; kk++, ak += aK, bk += ldb)
                {
                    TV b0 = TOps.Load(bk), b1 = TOps.Load(bk + lanes), b2 = TOps.Load(bk + 2 * lanes), b3 = TOps.Load(bk + 3 * lanes);
                    TV w = TOps.Broadcast(a[ak]);
                    c00 = TOps.Fma(w, b0, c00); c01 = TOps.Fma(w, b1, c01); c02 = TOps.Fma(w, b2, c02); c03 = TOps.Fma(w, b3, c03);
                    w = TOps.Broadcast(a1[ak]);
                    c10 = TOps.Fma(w, b0, c10); c11 = TOps.Fma(w, b1, c11); c12 = TOps.Fma(w, b2, c12); c13 = TOps.Fma(w, b3, c13);
                    w = TOps.Broadcast(a2[ak]);
                    c20 = TOps.Fma(w, b0, c20); c21 = TOps.Fma(w, b1, c21); c22 = TOps.Fma(w, b2, c22); c23 = TOps.Fma(w, b3, c23);
                    w = TOps.Broadcast(a3[ak]);
                    c30 = TOps.Fma(w, b0, c30); c31 = TOps.Fma(w, b1, c31); c32 = TOps.Fma(w, b2, c32); c33 = TOps.Fma(w, b3, c33);
                }
                float* c0 = c + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
                TOps.Store(c0, c00); TOps.Store(c0 + lanes, c01); TOps.Store(c0 + 2 * lanes, c02); TOps.Store(c0 + 3 * lanes, c03);
                TOps.Store(c1, c10); TOps.Store(c1 + lanes, c11); TOps.Store(c1 + 2 * lanes, c12); TOps.Store(c1 + 3 * lanes, c13);
                TOps.Store(c2, c20); TOps.Store(c2 + lanes, c21); TOps.Store(c2 + 2 * lanes, c22); TOps.Store(c2 + 3 * lanes, c23);
                TOps.Store(c3, c30); TOps.Store(c3 + lanes, c31); TOps.Store(c3 + 2 * lanes, c32); TOps.Store(c3 + 3 * lanes, c33);
                // No column maxima here: Scores takes every whole 4-vector block itself and leaves only tails to this.
            }
        for (; j + 2 * lanes <= cols; j += 2 * lanes)
        {
            TV c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero;
            TV c20 = TOps.Zero, c21 = TOps.Zero, c30 = TOps.Zero, c31 = TOps.Zero;
            float* bk = b + j;
            for (int kk = 0, ak = 0; kk < k; kk++, ak += aK, bk += ldb)
            {
                TV b0 = TOps.Load(bk), b1 = TOps.Load(bk + lanes);
                TV w = TOps.Broadcast(a[ak]);
                c00 = TOps.Fma(w, b0, c00); c01 = TOps.Fma(w, b1, c01);
                if (rows > 1)
                {
                    w = TOps.Broadcast(a1[ak]); c10 = TOps.Fma(w, b0, c10); c11 = TOps.Fma(w, b1, c11);
                    w = TOps.Broadcast(a2[ak]); c20 = TOps.Fma(w, b0, c20); c21 = TOps.Fma(w, b1, c21);
                    w = TOps.Broadcast(a3[ak]); c30 = TOps.Fma(w, b0, c30); c31 = TOps.Fma(w, b1, c31);
                }
            }
            TOps.Store(c + j, c00); TOps.Store(c + j + lanes, c01);
            if (rows > 1)
            {
                TOps.Store(c + ldc + j, c10); TOps.Store(c + ldc + j + lanes, c11);
                TOps.Store(c + 2 * ldc + j, c20); TOps.Store(c + 2 * ldc + j + lanes, c21);
                TOps.Store(c + 3 * ldc + j, c30); TOps.Store(c + 3 * ldc + j + lanes, c31);
            }
            if (colMax != null)
            {
                KeepMax<TOps, TV>(rows, colMax + j, c00, c10, c20, c30);
                KeepMax<TOps, TV>(rows, colMax + j + lanes, c01, c11, c21, c31);
            }
        }
        for (; j + lanes <= cols; j += lanes)
        {
            TV c00 = TOps.Zero, c10 = TOps.Zero, c20 = TOps.Zero, c30 = TOps.Zero;
            float* bk = b + j;
            for (int kk = 0, ak = 0; kk < k; kk++, ak += aK, bk += ldb)
            {
                TV b0 = TOps.Load(bk);
                c00 = TOps.Fma(TOps.Broadcast(a[ak]), b0, c00);
                if (rows > 1)
                {
                    c10 = TOps.Fma(TOps.Broadcast(a1[ak]), b0, c10);
                    c20 = TOps.Fma(TOps.Broadcast(a2[ak]), b0, c20);
                    c30 = TOps.Fma(TOps.Broadcast(a3[ak]), b0, c30);
                }
            }
            TOps.Store(c + j, c00);
            if (rows > 1)
            {
                TOps.Store(c + ldc + j, c10);
                TOps.Store(c + 2 * ldc + j, c20);
                TOps.Store(c + 3 * ldc + j, c30);
            }
            if (colMax != null) KeepMax<TOps, TV>(rows, colMax + j, c00, c10, c20, c30);
        }
        for (; j < cols; j++)
            for (int r = 0; r < rows; r++)
            {
                float* ar = a + r * aRow;
                float acc = 0f;
                for (int kk = 0; kk < k; kk++) acc += ar[kk * aK] * b[(long)kk * ldb + j];
                c[(long)r * ldc + j] = acc;
                if (colMax != null) colMax[j] = MathF.Max(colMax[j], acc);
            }
    }

    /// <summary>
    /// Softmax of every column of the [n, cols] matrix st of base-2 scores (row stride ld; column i = query i's scores
    /// over keys j), in place without the division: st[j, i] = 2^(st[j, i] - max_j), inv[i] = 1 / sum_j.
    /// max[i] is the column's maximum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnSoftmax<TOps, TV>(float* st, int ld, int n, int cols, float* max, float* inv)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        int i = 0;
        for (; i + lanes <= cols; i += lanes)
        {
            TV m = TOps.Load(max + i);
            TV sum = TOps.Zero;
            for (int j = 0; j < n; j++)
            {
                float* p = st + (long)j * ld + i;
                TV e = TOps.Exp2(TOps.Sub(TOps.Load(p), m));
                TOps.Store(p, e);
                sum = TOps.Add(sum, e);
            }
            TOps.Store(inv + i, TOps.Div(TOps.Broadcast(1f), sum));
        }
        for (; i < cols; i++)
        {
            float m = max[i];
            float sum = 0f;
            for (int j = 0; j < n; j++)
            {
                float e = OpsScalar.Exp2(st[(long)j * ld + i] - m);
                st[(long)j * ld + i] = e;
                sum += e;
            }
            inv[i] = 1f / sum;
        }
    }

    /// <summary>
    /// <see cref="Scatter"/> for 2-wide patches with AVX-512: 16 tokens are spread to every other lane of two vectors
    /// and written with masked stores (lanes of the other patch column untouched: another item may be writing them).
    /// <paramref name="output"/> points at the even pixel of token 0's pair; <paramref name="phase"/> is the patch column.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScatterPairs(float* ct, int ld, float* inv, float* output, int n, int dim, int pixels, int patchesX, int rowStride, int phase)
    {
        var low = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        var high = Vector512.Create(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
        var lane = Vector512.Create(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1);
        var mask = Vector512.Equals(lane, Vector512.Create(phase)).AsSingle();
        for (int d = 0; d < dim; d++)
        {
            float* src = ct + (long)d * ld;
            float* row = output + (long)d * pixels;
            for (int t = 0; t < n; row += rowStride)
                for (int x = 0; x < patchesX; x += 16, t += 16)
                {
                    var v = Vector512.Load(src + t) * Vector512.Load(inv + t);
                    Avx512F.MaskStore(row + 2 * x, mask, Avx512F.PermuteVar16x32(v, low));
                    Avx512F.MaskStore(row + 2 * x + 16, mask, Avx512F.PermuteVar16x32(v, high));
                }
        }
    }

    /// <summary>out[d, pixel(i)] = ct[d, i] * inv[i]; out points at channel 0 of the head, token 0's pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scatter(float* ct, int ld, float* inv, float* output, int n, int dim, int pixels, int patchesX, int colStride, int rowStride)
    {
        for (int d = 0; d < dim; d++)
        {
            float* src = ct + (long)d * ld;
            float* row = output + (long)d * pixels;
            int t = 0;
            for (; t < n; row += rowStride)
                for (int x = 0; x < patchesX; x++, t++) row[x * colStride] = src[t] * inv[t];
        }
    }
}
