using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// MobileViT's unfold, multi-head self-attention and fold in one kernel: the unfold/fold are index mapping
/// (tokens at the same offset inside their patch attend to each other), so no patch tensor is ever built.
/// <para>
/// Per head: one pass over each of the head's Q, K and V channel rows gathers every patch offset's tokens into
/// scratch as [headDim, N] (token-contiguous; Q pre-scaled by log2(e)/sqrt(headDim)); gathering one offset at a time
/// read every row once per offset, through a 4 KiB-strided walk that cost 10-30 % of the attention. Then per offset and
/// block of queries: transposed scores St = K^T Q ([key, query]) with a 4-row x 4-vector register tile, which also
/// keeps each column's maximum; softmax down each column (vectorized over queries; base-2, as Q carries log2(e));
/// context Ct = V St with the same tile, scaled by 1 / denominator. Finally one pass per output channel row
/// interleaves the offsets' contexts back into the map.
/// Scratch: St (one query block of n keys), the denominators, then Q, K, V of every offset (Ct reuses Q's space).
/// </para>
/// </summary>
[SkipLocalsInit]
public static unsafe class PatchAttention
{
    /// <summary>Queries per block of scores (a multiple of 2 vectors on every path).</summary>
    private const int QueryBlock = 64;

    /// <summary>
    /// Scratch floats <see cref="Run"/> needs: a block of scores (min(tokens, 64) x tokens), tokens denominators, and Q, K, V
    /// of every patch offset with rows of tokens + 16 floats (the generator uses the same formula).
    /// </summary>
    public static int ScratchLength(int tokens, int headDim, int patchHeight, int patchWidth)
        => Math.Min(tokens, QueryBlock) * tokens + tokens + patchHeight * patchWidth * 3 * headDim * (tokens + 16);

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
        if (scratch.Length < ScratchLength(tokens, headDim, patchHeight, patchWidth)) throw new ArgumentException("scratch too short", nameof(scratch));
        fixed (float* pQkv = qkv, pOut = output, pScratch = scratch)
        {
            var a = new Args
            {
                Qkv = pQkv, Output = pOut, Scratch = pScratch, Hidden = hidden, Heads = heads, HeadDim = headDim,
                Height = height, Width = width, PatchHeight = patchHeight, PatchWidth = patchWidth, Tokens = tokens,
            };
            // Items are heads: each writes its own output channels. The caller uses the given scratch, other threads a
            // buffer of their own.
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
            if (pool is null || pool.Threads == 1) for (int i = 0; i < heads; i++) body(&a, i, 0);
            else pool.For(heads, body, &a);
        }
    }

    private static void Item<TOps, TV>(void* state, int item, int thread) where TOps : struct, IVecOps<TV> where TV : struct
    {
        ref Args a = ref *(Args*)state;
        float* scratch = thread == 0 ? a.Scratch : KernelIsa.ThreadPointer(ScratchLength(a.Tokens, a.HeadDim, a.PatchHeight, a.PatchWidth));
        Impl<TOps, TV>(in a, item, scratch);
    }

    private struct Args
    {
        public float* Qkv, Output, Scratch;
        public int Hidden, Heads, HeadDim, Height, Width, PatchHeight, PatchWidth, Tokens;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Impl<TOps, TV>(in Args a, int h, float* s) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int n = a.Tokens, dim = a.HeadDim, pixels = a.Height * a.Width, offsets = a.PatchHeight * a.PatchWidth;
        // Q carries log2(e) too, so the scores are base-2 and the softmax needs 2^x, not e^x (fewer operations).
        float scale = (float)(1.4426950408889634 / Math.Sqrt(dim));
        int block = Math.Min(n, QueryBlock);
        // Q, K, V rows (one per head channel) are ld floats apart: 16 floats of slack, since n a multiple of 256 (64x64
        // maps: 4 KiB rows) put all 16 rows a score tile reads in the same L1 cache set.
        int ld = n + 16;
        long offsetStride = 3L * dim * ld; // from one offset's Q, K, V to the next offset's
        float* inv = s + (long)block * n;
        float* qkv0 = inv + n;
        int q0 = h * dim, k0 = a.Hidden + h * dim, v0 = 2 * a.Hidden + h * dim;
        for (int d = 0; d < dim; d++)
        {
            Gather<TOps, TV>(in a, a.Qkv + (long)(q0 + d) * pixels, qkv0 + (long)d * ld, offsetStride, scale);
            Gather<TOps, TV>(in a, a.Qkv + (long)(k0 + d) * pixels, qkv0 + (long)(dim + d) * ld, offsetStride, 1f);
            Gather<TOps, TV>(in a, a.Qkv + (long)(v0 + d) * pixels, qkv0 + (long)(2 * dim + d) * ld, offsetStride, 1f);
        }
        float* max = stackalloc float[QueryBlock];
        for (int o = 0; o < offsets; o++)
        {
            float* qt = qkv0 + o * offsetStride, kt = qt + (long)dim * ld, vt = kt + (long)dim * ld;
            // Queries go in blocks of up to QueryBlock columns, so a block's scores (keys x block) stay in L2 while
            // the softmax and the context read them; the whole [n, n] at 1024 tokens (4 MiB) ran at a quarter of peak.
            // Every column is computed exactly as without blocks.
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
            for (int d = 0; d < dim; d++) Scale<TOps, TV>(qt + (long)d * ld, inv, n);
        }
        for (int d = 0; d < dim; d++) Scatter(in a, qkv0 + (long)d * ld, offsetStride, a.Output + (long)(q0 + d) * pixels, TOps.Tier);
    }

    /// <summary>
    /// One channel row of the map at <paramref name="src"/> into the token rows of every patch offset: offset
    /// (py, px)'s tokens at dst + (py * patchWidth + px) * offsetStride, times <paramref name="scale"/>. With 2-wide
    /// patches each image row is split into its even and odd columns with vector de-interleaving (on vectors no wider
    /// than the row of tokens), the columns past the last whole vector one by one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather<TOps, TV>(in Args a, float* src, float* dst, long offsetStride, float scale)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int width = a.Width, ph = a.PatchHeight, pw = a.PatchWidth, patchesX = width / pw, rows = a.Height / ph * ph;
        for (int y = 0; y < rows; y++) // pixels right of or below the last whole patch belong to no token
        {
            float* row = src + (long)y * width;
            int py = y % ph;
            float* d0 = dst + py * pw * offsetStride + (long)(y / ph) * patchesX;
            if (pw == 2)
            {
                float* d1 = d0 + offsetStride;
                // Rows of fewer tokens than lanes (16x16 and 8x8 maps) use the narrower vectors that fit them.
                int x = patchesX >= TOps.Count ? SplitColumns<TOps, TV>(row, d0, d1, patchesX, scale)
                    : patchesX >= 8 && TOps.Count > 8 ? SplitColumns<Ops256, Vector256<float>>(row, d0, d1, patchesX, scale)
                    : patchesX >= 4 && TOps.Count > 4 ? SplitColumns<Ops128, Vector128<float>>(row, d0, d1, patchesX, scale)
                    : 0;
                for (; x < patchesX; x++)
                {
                    d0[x] = row[2 * x] * scale;
                    d1[x] = row[2 * x + 1] * scale;
                }
            }
            else
                for (int x = 0; x < patchesX * pw; x++) d0[(x % pw) * offsetStride + x / pw] = row[x] * scale;
        }
    }

    /// <summary>Even columns of row to even[0..], odd ones to odd[0..], times scale, for whole vectors of tokens; returns how many.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SplitColumns<TOps, TV>(float* row, float* even, float* odd, int patchesX, float scale)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, x = 0;
        TV vscale = TOps.Broadcast(scale);
        for (; x + lanes <= patchesX; x += lanes)
        {
            TOps.Deinterleave(row + 2 * x, even + x, odd + x);
            if (scale != 1f)
            {
                TOps.Store(even + x, TOps.Mul(TOps.Load(even + x), vscale));
                TOps.Store(odd + x, TOps.Mul(TOps.Load(odd + x), vscale));
            }
        }
        return x;
    }

    /// <summary>row[t] *= inv[t]: the softmax's division, on the context.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale<TOps, TV>(float* row, float* inv, int n) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int t = 0;
        for (; t + TOps.Count <= n; t += TOps.Count) TOps.Store(row + t, TOps.Mul(TOps.Load(row + t), TOps.Load(inv + t)));
        for (; t < n; t++) row[t] *= inv[t];
    }

    /// <summary>
    /// The inverse of <see cref="Gather"/> for one output channel row: every offset's context tokens (at
    /// src + offset * offsetStride) back to their pixels. 2-wide patches interleave two token rows per image row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scatter(in Args a, float* src, long offsetStride, float* output, Isa tier)
    {
        int width = a.Width, ph = a.PatchHeight, pw = a.PatchWidth, patchesX = width / pw, rows = a.Height / ph * ph;
        for (int y = 0; y < rows; y++) // pixels outside the whole patches are left as they are
        {
            float* row = output + (long)y * width;
            float* s0 = src + (y % ph) * pw * offsetStride + (long)(y / ph) * patchesX;
            if (pw == 2)
            {
                float* s1 = s0 + offsetStride;
                int x = TokenInterleave.Run(s0, s1, row, patchesX, tier);
                for (; x < patchesX; x++)
                {
                    row[2 * x] = s0[x];
                    row[2 * x + 1] = s1[x];
                }
            }
            else
                for (int x = 0; x < patchesX * pw; x++) row[x] = s0[(x % pw) * offsetStride + x / pw];
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
}
