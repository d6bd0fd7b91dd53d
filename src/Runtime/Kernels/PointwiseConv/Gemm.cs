using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>Fills the GEMM's input panel: <c>k</c> rows of <c>width</c> floats, columns n..width zero.</summary>
internal unsafe interface IPanelPacker
{
    void Pack<TOps, TV>(float* dst, int p0, int n, int width) where TOps : struct, IVecOps<TV> where TV : struct;

    /// <summary>
    /// Packs the blocks of pixels [p0, p1) one after another (block at q: k rows of its width at dst + (q - p0) * k),
    /// each block as <see cref="Pack"/> would.
    /// </summary>
    void PackChunk<TOps, TV>(float* dst, int p0, int p1, int k) where TOps : struct, IVecOps<TV> where TV : struct;

    /// <summary>A hint to bring the source of input rows [k0, k1) x pixels [p0, p1) into cache; may do nothing.</summary>
    void Prefetch(int p0, int p1, int k0, int k1);

    /// <summary>
    /// The input itself when the microkernels may read whole blocks from it in place (k rows, <paramref name="stride"/>
    /// floats apart, pixel q at row + q), or null when every block must be packed (normalized or im2col'ed input).
    /// </summary>
    float* DirectRows(out int stride);
}

/// <summary>
/// out[M, N] = act(bias + Wpacked[M, K] x B[K, N]) (+ residual), the engine behind PointwiseConv and Conv2D.
/// <para>
/// Weight layout (<see cref="PackWeights"/>): panels of <see cref="Mr"/> = 8 output rows,
/// <c>packed[((m / 8) * K + k) * 8 + m % 8] = W[m, k]</c>, rows past M zero. A microkernel reads its panel
/// sequentially, broadcasting one weight per FMA.
/// </para>
/// <para>
/// The input is re-packed per block of up to 3 vectors of pixels (48 with Vector512) into a contiguous
/// K x width panel (zero-padded past the last pixel), which is then reused by every 8-row weight panel:
/// no strided row streams, no pixel tails inside the microkernel. Microkernels (XNNPACK naming, per vector width):
/// 8 x 3 vectors when the target has 32 vector registers (Vector512: Gemm8x48), otherwise 4 x 3 vectors run
/// twice per panel; block widths of 1 and 2 vectors cover small pixel counts without wasted lanes.
/// Accumulators start at the bias; identity epilogues store (+ residual) straight from registers, other
/// activations go through an L1 tile and a tight loop (inlining exp next to 24 live accumulators spills).
/// Measured on one Zen 4 core (FMA peak 117 GFLOP/s): 107-116 GFLOP/s for K, M in 96..640.
/// </para>
/// </summary>
[SkipLocalsInit]
internal static unsafe partial class Gemm
{
    public const int Mr = 8;

    public static int PackedLength(int k, int m) => (m + Mr - 1) / Mr * Mr * k;

    public static float[] PackWeights(ReadOnlySpan<float> weight, int k, int m)
    {
        if (weight.Length < k * m) throw new ArgumentException("weight is shorter than k * m", nameof(weight));
        var packed = new float[PackedLength(k, m)];
        for (int row = 0; row < m; row++)
        {
            int panel = row / Mr, lane = row % Mr;
            for (int kk = 0; kk < k; kk++)
                packed[(panel * k + kk) * Mr + lane] = weight[row * k + kk];
        }
        return packed;
    }

    /// <summary>Packed input floats one chunk holds at most (256 KiB: it stays in L2 while every weight panel reads it).</summary>
    private const int ChunkFloats = 64 * 1024;

    /// <summary>Pixel blocks per chunk for a reduction of length k: as many as fit in <see cref="ChunkFloats"/>, 1 to 16.</summary>
    private static int ChunkBlocks(int k, int blockWidth) => Math.Clamp(ChunkFloats / Math.Max(1, k * blockWidth), 1, 16);

    /// <summary>Floats of input panel a chunk needs on a path: k * 3 vectors per block, <see cref="ChunkBlocks"/> blocks.</summary>
    public static int PanelLength(Isa isa, int k)
    {
        int blockWidth = 3 * KernelIsa.Lanes(isa);
        return k * blockWidth * ChunkBlocks(k, blockWidth);
    }

    /// <summary>
    /// Runs the whole GEMM in chunks of up to 16 pixel blocks (3 vectors each): a chunk's input is packed once, then
    /// each 8-row weight panel sweeps the chunk's blocks. So each output row is written as one contiguous run of up
    /// to 768 pixels (a few prefetchable streams) rather than all M rows being touched per 48-pixel block, which at
    /// high resolution (64 KiB between rows, small K) stalled on store misses at about half the FMA rate.
    /// With a pool of more than one thread the work is split into items of one chunk x a range of weight panels
    /// (chunks are shrunk to give every thread about 4 items; weight-panel ranges only when there are still too few).
    /// Every output element is still computed by one microkernel call over the whole K in the same order, so the
    /// result is bitwise identical for any thread count and chunk size. Thread 0 (the caller) packs into
    /// <paramref name="panel"/> (at least <see cref="PanelLength"/> floats), the other threads into their own thread buffer.
    /// </summary>
    public static void Run<TOps, TV, TAct, TPacker>(ref TPacker packer, float* packedW, float* bias, float* output,
        float* residual, int k, int m, int n, float* panel, bool forceMr4 = false, WorkerPool? pool = null)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation where TPacker : struct, IPanelPacker
    {
        if (UsesTinyN<TOps, TV>(n) && !forceMr4)
        {
            TinyN<TOps, TV, TAct, TPacker>(ref packer, packedW, bias, output, residual, k, m, n, panel);
            return;
        }
        int blockWidth = 3 * TOps.Count;
        int blocks = (n + blockWidth - 1) / blockWidth;
        int panels = (m + Mr - 1) / Mr;
        int chunk = ChunkBlocks(k, blockWidth);
        if (pool is null || pool.Threads == 1 || blocks * panels < 2)
        {
            for (int p0 = 0; p0 < n; p0 += chunk * blockWidth)
                Chunk<TOps, TV, TAct, TPacker>(ref packer, packedW, bias, output, residual, k, m, n, panel, forceMr4, p0,
                    Math.Min(n, p0 + chunk * blockWidth), 0, m);
            return;
        }
        // At least ~4 items per thread so a descheduled thread's share is picked up by the others.
        int target = 4 * pool.Threads;
        chunk = Math.Clamp(blocks / target, 1, chunk);
        int chunks = (blocks + chunk - 1) / chunk;
        int groups = chunks >= target ? 1 : Math.Min(panels, (target + chunks - 1) / chunks);
        var job = new Job
        {
            Packer = Unsafe.AsPointer(ref packer), PackedW = packedW, Bias = bias, Output = output, Residual = residual,
            K = k, M = m, N = n, Panel = panel, ForceMr4 = forceMr4, Groups = groups, Panels = panels, ChunkWidth = chunk * blockWidth,
        };
        if (groups == 1)
        {
            pool.For(chunks, &Item<TOps, TV, TAct, TPacker>, &job);
            return;
        }
        // Few pixel blocks (small maps: 256 tokens and less), so weight panels are split too. Blocks read in place need
        // nothing shared. Otherwise each block is packed once into a buffer all threads share, and the items only
        // compute: packing a block again for every panel group (4 per block at 2 threads) left a 3x3 convolution at
        // 8x8 no faster on 2 threads than on 1.
        job.ChunkWidth = blockWidth;
        if (packer.DirectRows(out _) != null)
        {
            pool.For(blocks * groups, &Item<TOps, TV, TAct, TPacker>, &job);
            return;
        }
        job.Panel = KernelIsa.ThreadPointer(blocks * k * blockWidth);
        pool.For(blocks, &PackItem<TOps, TV, TPacker>, &job);
        job.Prepacked = true;
        pool.For(blocks * groups, &Item<TOps, TV, TAct, TPacker>, &job);
    }

    private struct Job
    {
        public void* Packer;
        public float* PackedW, Bias, Output, Residual, Panel;
        public int K, M, N, Groups, Panels, ChunkWidth;
        public bool ForceMr4, Prepacked;
    }

    /// <summary>Packs pixel block <paramref name="item"/> into the shared buffer (block b at Panel + b * K * ChunkWidth).</summary>
    private static void PackItem<TOps, TV, TPacker>(void* state, int item, int thread)
        where TOps : struct, IVecOps<TV> where TV : struct where TPacker : struct, IPanelPacker
    {
        ref Job j = ref Unsafe.AsRef<Job>(state);
        TPacker packer = Unsafe.AsRef<TPacker>(j.Packer);
        int p0 = item * j.ChunkWidth;
        packer.PackChunk<TOps, TV>(j.Panel + (long)item * j.K * j.ChunkWidth, p0, Math.Min(j.N, p0 + j.ChunkWidth), j.K);
    }

    private static void Item<TOps, TV, TAct, TPacker>(void* state, int item, int thread)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation where TPacker : struct, IPanelPacker
    {
        ref Job j = ref Unsafe.AsRef<Job>(state);
        int chunk = item / j.Groups, g = item - chunk * j.Groups;
        int m0 = g * j.Panels / j.Groups * Mr, m1 = Math.Min(j.M, (g + 1) * j.Panels / j.Groups * Mr);
        float* panel = j.Prepacked ? j.Panel + (long)chunk * j.K * j.ChunkWidth
            : thread == 0 ? j.Panel : KernelIsa.ThreadPointer(j.K * j.ChunkWidth);
        TPacker packer = Unsafe.AsRef<TPacker>(j.Packer);
        int p0 = chunk * j.ChunkWidth;
        Chunk<TOps, TV, TAct, TPacker>(ref packer, j.PackedW, j.Bias, j.Output, j.Residual, j.K, j.M, j.N, panel, j.ForceMr4,
            p0, Math.Min(j.N, p0 + j.ChunkWidth), m0, m1, j.Prepacked);
    }

    /// <summary>
    /// Pixels [p0, p1) (whole blocks of 3 vectors but the last) x output rows [mStart, mEnd) (multiples of 8 but the last):
    /// every block of the chunk is packed (k x width floats each, one after another), then each weight panel runs
    /// over all of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Chunk<TOps, TV, TAct, TPacker>(ref TPacker packer, float* packedW, float* bias, float* output,
        float* residual, int k, int m, int n, float* panel, bool forceMr4, int p0, int p1, int mStart, int mEnd,
        bool prepacked = false)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation where TPacker : struct, IPanelPacker
    {
        int lanes = TOps.Count;
        int blockWidth = 3 * lanes;
        float* tile = stackalloc float[Mr * 3 * 16];
        float* bias8 = stackalloc float[Mr];
        // Whole blocks are read in place when the packer allows it (a plain 1x1 input): packing copied every input
        // float once more per chunk, and the copy cost 3-9 % of MobileViTV2's reduce and expand layers. Only a partial
        // last block is packed (zero-padded), so the microkernels never read past the input's rows.
        int rowStride = 0;
        float* rowsIn = prepacked ? null : packer.DirectRows(out rowStride);
        if (!prepacked && rowsIn == null) packer.PackChunk<TOps, TV>(panel, p0, p1, k);
        else if (rowsIn != null && (p1 - p0) % blockWidth != 0)
        {
            int tail = p0 + (p1 - p0) / blockWidth * blockWidth, cols = p1 - tail;
            packer.Pack<TOps, TV>(panel + (long)(tail - p0) * k, tail, cols, (cols + lanes - 1) / lanes * lanes);
        }
        // While the weight panels run, the next chunk's input rows are prefetched into L2 a share per panel: the rows
        // are 4-64 KiB apart (the same cache sets), which the hardware prefetcher does not follow (5-8 % at M = 32..64).
        int panelsHere = (mEnd - mStart + Mr - 1) / Mr, next1 = prepacked ? p1 : Math.Min(n, p1 + (p1 - p0));
        for (int m0 = mStart; m0 < mEnd; m0 += Mr)
        {
            int rows = Math.Min(Mr, m - m0);
            if (next1 > p1)
            {
                long i = (m0 - mStart) / Mr;
                packer.Prefetch(p1, next1, (int)(i * k / panelsHere), (int)((i + 1) * k / panelsHere));
            }
            for (int r = 0; r < Mr; r++) bias8[r] = r < rows && bias != null ? bias[m0 + r] : 0f;
            float* a = packedW + (long)m0 * k;
            for (int q = p0; q < p1; q += blockWidth)
            {
                int cols = Math.Min(blockWidth, p1 - q);
                int nv = (cols + lanes - 1) / lanes;
                float* b = panel + (long)(q - p0) * k;
                int ldb = nv * lanes;
                if (rowsIn != null && cols == blockWidth)
                {
                    b = rowsIn + q;
                    ldb = rowStride;
                }
                float* c = output + (long)m0 * n + q;
                float* res = residual == null ? null : residual + (long)m0 * n + q;
                if (TOps.Mr8 && !forceMr4)
                {
                    if (nv == 3) Micro8xV3<TOps, TV, TAct>(k, a, b, ldb, bias8, c, res, n, rows, cols, tile);
                    else if (nv == 2) Micro8xV2<TOps, TV, TAct>(k, a, b, ldb, bias8, c, res, n, rows, cols, tile);
                    else Micro8xV1<TOps, TV, TAct>(k, a, b, ldb, bias8, c, res, n, rows, cols, tile);
                }
                else
                {
                    for (int half = 0; half < 2 && half * 4 < rows; half++)
                    {
                        int r0 = half * 4;
                        float* ch = c + (long)r0 * n;
                        float* rh = res == null ? null : res + (long)r0 * n;
                        int hr = Math.Min(4, rows - r0);
                        if (nv == 3) Micro4xV3<TOps, TV, TAct>(k, a + r0, b, ldb, bias8 + r0, ch, rh, n, hr, cols, tile);
                        else if (nv == 2) Micro4xV2<TOps, TV, TAct>(k, a + r0, b, ldb, bias8 + r0, ch, rh, n, hr, cols, tile);
                        else Micro4xV1<TOps, TV, TAct>(k, a + r0, b, ldb, bias8 + r0, ch, rh, n, hr, cols, tile);
                    }
                }
            }
        }
    }

    // One specialized (non-inlined) method per tile shape; the body is inlined with constant mr/nv so unused
    // accumulators vanish.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro8xV3<TOps, TV, TAct>(int k, float* a, float* b, int ldb, float* bias, float* c, float* res, int ldc, int rows, int cols, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(8, 3, k, a, b, ldb, bias, c, res, ldc, rows, cols, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro8xV2<TOps, TV, TAct>(int k, float* a, float* b, int ldb, float* bias, float* c, float* res, int ldc, int rows, int cols, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(8, 2, k, a, b, ldb, bias, c, res, ldc, rows, cols, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro8xV1<TOps, TV, TAct>(int k, float* a, float* b, int ldb, float* bias, float* c, float* res, int ldc, int rows, int cols, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(8, 1, k, a, b, ldb, bias, c, res, ldc, rows, cols, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro4xV3<TOps, TV, TAct>(int k, float* a, float* b, int ldb, float* bias, float* c, float* res, int ldc, int rows, int cols, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(4, 3, k, a, b, ldb, bias, c, res, ldc, rows, cols, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro4xV2<TOps, TV, TAct>(int k, float* a, float* b, int ldb, float* bias, float* c, float* res, int ldc, int rows, int cols, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(4, 2, k, a, b, ldb, bias, c, res, ldc, rows, cols, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Micro4xV1<TOps, TV, TAct>(int k, float* a, float* b, int ldb, float* bias, float* c, float* res, int ldc, int rows, int cols, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
        => Micro<TOps, TV, TAct>(4, 1, k, a, b, ldb, bias, c, res, ldc, rows, cols, tile);

    /// <summary>
    /// mr x nv-vector register tile: a is the weight panel (stride 8 floats per k), b the input panel
    /// (stride nv vectors per k). Accumulators start at the bias (the reference sums bias first).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Micro<TOps, TV, TAct>(int mr, int nv, int k, float* a, float* b, int ldb, float* bias, float* c, float* res,
        int ldc, int rows, int cols, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count;
        TV c00, c01 = default, c02 = default, c10, c11 = default, c12 = default;
        TV c20, c21 = default, c22 = default, c30, c31 = default, c32 = default;
        TV c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        TV c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        c00 = TOps.Broadcast(bias[0]); if (nv > 1) c01 = c00; if (nv > 2) c02 = c00;
        c10 = TOps.Broadcast(bias[1]); if (nv > 1) c11 = c10; if (nv > 2) c12 = c10;
        c20 = TOps.Broadcast(bias[2]); if (nv > 1) c21 = c20; if (nv > 2) c22 = c20;
        c30 = TOps.Broadcast(bias[3]); if (nv > 1) c31 = c30; if (nv > 2) c32 = c30;
        if (mr == 8)
        {
            c40 = TOps.Broadcast(bias[4]); if (nv > 1) c41 = c40; if (nv > 2) c42 = c40;
            c50 = TOps.Broadcast(bias[5]); if (nv > 1) c51 = c50; if (nv > 2) c52 = c50;
            c60 = TOps.Broadcast(bias[6]); if (nv > 1) c61 = c60; if (nv > 2) c62 = c60;
            c70 = TOps.Broadcast(bias[7]); if (nv > 1) c71 = c70; if (nv > 2) c72 = c70;
        }
        for (int kk = 0; kk < k; kk++)
        {
            TV b0 = TOps.Load(b), b1 = default, b2 = default;
            if (nv > 1) b1 = TOps.Load(b + lanes);
            if (nv > 2) b2 = TOps.Load(b + 2 * lanes);
            TV w = TOps.Broadcast(a[0]);
            c00 = TOps.Fma(w, b0, c00); if (nv > 1) c01 = TOps.Fma(w, b1, c01); if (nv > 2) c02 = TOps.Fma(w, b2, c02);
            w = TOps.Broadcast(a[1]);
            c10 = TOps.Fma(w, b0, c10); if (nv > 1) c11 = TOps.Fma(w, b1, c11); if (nv > 2) c12 = TOps.Fma(w, b2, c12);
            w = TOps.Broadcast(a[2]);
            c20 = TOps.Fma(w, b0, c20); if (nv > 1) c21 = TOps.Fma(w, b1, c21); if (nv > 2) c22 = TOps.Fma(w, b2, c22);
            w = TOps.Broadcast(a[3]);
            c30 = TOps.Fma(w, b0, c30); if (nv > 1) c31 = TOps.Fma(w, b1, c31); if (nv > 2) c32 = TOps.Fma(w, b2, c32);
            if (mr == 8)
            {
                w = TOps.Broadcast(a[4]);
                c40 = TOps.Fma(w, b0, c40); if (nv > 1) c41 = TOps.Fma(w, b1, c41); if (nv > 2) c42 = TOps.Fma(w, b2, c42);
                w = TOps.Broadcast(a[5]);
                c50 = TOps.Fma(w, b0, c50); if (nv > 1) c51 = TOps.Fma(w, b1, c51); if (nv > 2) c52 = TOps.Fma(w, b2, c52);
                w = TOps.Broadcast(a[6]);
                c60 = TOps.Fma(w, b0, c60); if (nv > 1) c61 = TOps.Fma(w, b1, c61); if (nv > 2) c62 = TOps.Fma(w, b2, c62);
                w = TOps.Broadcast(a[7]);
                c70 = TOps.Fma(w, b0, c70); if (nv > 1) c71 = TOps.Fma(w, b1, c71); if (nv > 2) c72 = TOps.Fma(w, b2, c72);
            }
            a += Mr;
            b += ldb;
        }
        if (typeof(TAct) == typeof(Identity))
        {
            Row<TOps, TV>(nv, c00, c01, c02, c, res, cols, tile);
            if (rows > 1) Row<TOps, TV>(nv, c10, c11, c12, c + ldc, res == null ? null : res + ldc, cols, tile);
            if (rows > 2) Row<TOps, TV>(nv, c20, c21, c22, c + 2 * ldc, res == null ? null : res + 2 * ldc, cols, tile);
            if (rows > 3) Row<TOps, TV>(nv, c30, c31, c32, c + 3 * ldc, res == null ? null : res + 3 * ldc, cols, tile);
            if (mr == 8)
            {
                if (rows > 4) Row<TOps, TV>(nv, c40, c41, c42, c + 4 * ldc, res == null ? null : res + 4 * ldc, cols, tile);
                if (rows > 5) Row<TOps, TV>(nv, c50, c51, c52, c + 5 * ldc, res == null ? null : res + 5 * ldc, cols, tile);
                if (rows > 6) Row<TOps, TV>(nv, c60, c61, c62, c + 6 * ldc, res == null ? null : res + 6 * ldc, cols, tile);
                if (rows > 7) Row<TOps, TV>(nv, c70, c71, c72, c + 7 * ldc, res == null ? null : res + 7 * ldc, cols, tile);
            }
        }
        else
        {
            // A non-trivial activation (exp) inlined 8 x 3 times next to 24 live accumulators would spill; park the
            // tile in L1 instead and run the activation as a tight loop with its constants in registers.
            int ldt = 3 * lanes;
            Park<TOps, TV>(nv, c00, c01, c02, tile);
            Park<TOps, TV>(nv, c10, c11, c12, tile + ldt);
            Park<TOps, TV>(nv, c20, c21, c22, tile + 2 * ldt);
            Park<TOps, TV>(nv, c30, c31, c32, tile + 3 * ldt);
            if (mr == 8)
            {
                Park<TOps, TV>(nv, c40, c41, c42, tile + 4 * ldt);
                Park<TOps, TV>(nv, c50, c51, c52, tile + 5 * ldt);
                Park<TOps, TV>(nv, c60, c61, c62, tile + 6 * ldt);
                Park<TOps, TV>(nv, c70, c71, c72, tile + 7 * ldt);
            }
            Epilogue<TOps, TV, TAct>(tile, ldt, Math.Min(rows, mr), nv, cols, c, res, ldc);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Park<TOps, TV>(int nv, TV x0, TV x1, TV x2, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        TOps.Store(tile, x0);
        if (nv > 1) TOps.Store(tile + TOps.Count, x1);
        if (nv > 2) TOps.Store(tile + 2 * TOps.Count, x2);
    }

    /// <summary>c[r, j] = act(tile[r, j]) (+ res[r, j]) for r &lt; rows, j &lt; cols.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Epilogue<TOps, TV, TAct>(float* tile, int ldt, int rows, int nv, int cols, float* c, float* res, int ldc)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count;
        int width = nv * lanes;
        if (cols == width && res == null)
        {
            // The common case: activate straight from the tile into the output.
            for (int r = 0; r < rows; r++, tile += ldt, c += ldc)
                for (int j = 0; j < width; j += lanes) TOps.Store(c + j, TOps.Act<TAct>(TOps.Load(tile + j)));
            return;
        }
        for (int r = 0; r < rows; r++, tile += ldt, c += ldc)
        {
            for (int j = 0; j < width; j += lanes) TOps.Store(tile + j, TOps.Act<TAct>(TOps.Load(tile + j)));
            if (cols == width)
                for (int j = 0; j < width; j += lanes) TOps.Store(c + j, TOps.Add(TOps.Load(tile + j), TOps.Load(res + (long)r * ldc + j)));
            else if (res == null)
                for (int j = 0; j < cols; j++) c[j] = tile[j];
            else
                for (int j = 0; j < cols; j++) c[j] = tile[j] + res[(long)r * ldc + j];
        }
    }

    /// <summary>Epilogue of one output row without activation: the residual is read before the store, so it may alias c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row<TOps, TV>(int nv, TV x0, TV x1, TV x2, float* c, float* res, int cols, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        if (cols == nv * lanes)
        {
            if (res != null)
            {
                x0 = TOps.Add(x0, TOps.Load(res));
                if (nv > 1) x1 = TOps.Add(x1, TOps.Load(res + lanes));
                if (nv > 2) x2 = TOps.Add(x2, TOps.Load(res + 2 * lanes));
            }
            TOps.Store(c, x0);
            if (nv > 1) TOps.Store(c + lanes, x1);
            if (nv > 2) TOps.Store(c + 2 * lanes, x2);
        }
        else
        {
            TOps.Store(tile, x0);
            if (nv > 1) TOps.Store(tile + lanes, x1);
            if (nv > 2) TOps.Store(tile + 2 * lanes, x2);
            if (res != null) for (int i = 0; i < cols; i++) c[i] = tile[i] + res[i];
            else for (int i = 0; i < cols; i++) c[i] = tile[i];
        }
    }
}

/// <summary>Packs a [k, n] row-major matrix (the 1x1 convolution's input) into GEMM panels.</summary>
internal unsafe struct RowMajorPacker : IPanelPacker
{
    public float* Input;
    public int K;
    public int N;
    /// <summary>Whole blocks may be read in place: the input does not overlap the output (see <see cref="IPanelPacker.DirectRows"/>).</summary>
    public bool Direct;

    public float* DirectRows(out int stride)
    {
        stride = N;
        return Direct ? Input : null;
    }


    /// <summary>
    /// Row by row over the whole chunk: each input row is read as one contiguous run (up to 3 KiB), which the hardware
    /// prefetcher follows. Reading 48 pixels of every row per block instead (rows 16-64 KiB apart, the same cache sets)
    /// copied at 6-7 GB/s and cost 30-40 % of a 1x1 convolution with 32 outputs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Prefetch(int p0, int p1, int k0, int k1)
    {
        if (!Sse.IsSupported) return;
        for (int kk = k0; kk < k1; kk++)
        {
            float* row = Input + (long)kk * N;
            for (int j = p0; j < p1; j += 16) Sse.Prefetch1(row + j); // one per 64-byte line
        }
    }

    public void PackChunk<TOps, TV>(float* dst, int p0, int p1, int k) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, blockWidth = 3 * lanes;
        int full = p0 + (p1 - p0) / blockWidth * blockWidth; // end of the whole blocks
        for (int kk = 0; kk < K; kk++)
        {
            float* src = Input + (long)kk * N;
            float* d = dst + kk * blockWidth;
            for (int q = p0; q < full; q += blockWidth, d += (long)K * blockWidth)
            {
                TOps.Store(d, TOps.Load(src + q));
                TOps.Store(d + lanes, TOps.Load(src + q + lanes));
                TOps.Store(d + 2 * lanes, TOps.Load(src + q + 2 * lanes));
            }
        }
        if (full < p1)
        {
            int cols = p1 - full;
            Pack<TOps, TV>(dst + (long)(full - p0) * K, full, cols, (cols + lanes - 1) / lanes * lanes);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack<TOps, TV>(float* dst, int p0, int n, int width) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        float* src = Input + p0;
        if (n == width)
        {
            int nv = width / lanes;
            for (int kk = 0; kk < K; kk++, src += N, dst += width)
            {
                TOps.Store(dst, TOps.Load(src));
                if (nv > 1) TOps.Store(dst + lanes, TOps.Load(src + lanes));
                if (nv > 2) TOps.Store(dst + 2 * lanes, TOps.Load(src + 2 * lanes));
            }
        }
        else
        {
            for (int kk = 0; kk < K; kk++, src += N, dst += width)
            {
                int i = 0;
                for (; i < n; i++) dst[i] = src[i];
                for (; i < width; i++) dst[i] = 0f;
            }
        }
    }
}
