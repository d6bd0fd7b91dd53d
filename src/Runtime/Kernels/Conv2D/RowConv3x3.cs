using System.Runtime.CompilerServices;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Stride-1 3x3 convolution (any padding and dilation) as a GEMM whose blocks never cross an output row, so that the
/// three taps kx of one input row are the same packed row read at offsets 0, d and 2d. The packed panel holds one
/// zero-padded input row segment per (ci, ky) instead of im2col's three shifted copies: a third of the packing, which
/// was 14-25 % of a 3x3 convolution with 48-160 outputs. Microkernel: 8 output channels x 1-3 vectors of one row
/// segment, accumulators from the bias, then taps in the im2col order (ci, ky, kx), so results equal the im2col path.
/// Weights: the GEMM's packed panels of the [outC, inC * 9] matrix (<see cref="Conv2D.PackWeights"/>).
/// Used when the target has 32 vector registers and an output row holds at least two vectors: rows are cut into equal
/// segments of 2-3 vectors (64 pixels: 2 x 32); one-vector rows (16x16 maps) stay faster with im2col's 3-row blocks.
/// </summary>
[SkipLocalsInit]
internal static unsafe class RowConv3x3
{
    private const int Mr = Gemm.Mr;
    private const int ChunkFloats = 64 * 1024; // packed segments per chunk: up to 256 KiB, which stays in L2

    public static bool Applies<TOps, TV>(int kernelSize, int stride, int outWidth) where TOps : struct, IVecOps<TV> where TV : struct
        => kernelSize == 3 && stride == 1 && TOps.Mr8 && outWidth >= 2 * TOps.Count;

    private struct Job
    {
        public float* Input, PackedW, Bias, Output;
        public int Channels, Height, Width, Padding, Dilation, OutHeight, OutWidth, OutChannels;
        public int SegmentsPerRow, SegmentWidth, SegmentStride, ChunkSegments, Chunks, Groups, Panels;
    }

    public static void Run<TOps, TV, TAct>(float* input, float* packedW, float* bias, float* output, int channels, int height,
        int width, int outChannels, int outHeight, int outWidth, int padding, int dilation, WorkerPool? pool)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count, blockWidth = 3 * lanes;
        int segmentsPerRow = (outWidth + blockWidth - 1) / blockWidth;
        int segmentWidth = ((outWidth + segmentsPerRow - 1) / segmentsPerRow + lanes - 1) / lanes * lanes;
        // A segment's row of taps: its outputs plus the reach of the two other taps, in whole vectors.
        int segmentStride = (segmentWidth + 2 * dilation + lanes - 1) / lanes * lanes;
        int segmentFloats = channels * 3 * segmentStride;
        int segments = outHeight * segmentsPerRow;
        int panels = (outChannels + Mr - 1) / Mr;
        int chunkSegments = Math.Clamp(ChunkFloats / segmentFloats, 1, 16);
        int groups = 1;
        if (pool is not null && pool.Threads > 1)
        {
            // About 4 items per thread, as the GEMM does; weight-panel groups when there are too few chunks.
            int target = 4 * pool.Threads;
            chunkSegments = Math.Clamp(segments / target, 1, chunkSegments);
            int chunksHere = (segments + chunkSegments - 1) / chunkSegments;
            if (chunksHere < target) groups = Math.Min(panels, (target + chunksHere - 1) / chunksHere);
        }
        var job = new Job
        {
            Input = input, PackedW = packedW, Bias = bias, Output = output, Channels = channels, Height = height, Width = width,
            Padding = padding, Dilation = dilation, OutHeight = outHeight, OutWidth = outWidth, OutChannels = outChannels,
            SegmentsPerRow = segmentsPerRow, SegmentWidth = segmentWidth, SegmentStride = segmentStride, ChunkSegments = chunkSegments,
            Chunks = (segments + chunkSegments - 1) / chunkSegments, Groups = groups, Panels = panels,
        };
        if (pool is null || pool.Threads == 1 || job.Chunks * groups < 2)
            for (int i = 0; i < job.Chunks; i++) Item<TOps, TV, TAct>(&job, i, 0);
        else pool.For(job.Chunks * groups, &Item<TOps, TV, TAct>, &job);
    }

    private static void Item<TOps, TV, TAct>(void* state, int item, int thread)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        ref Job j = ref Unsafe.AsRef<Job>(state);
        int chunk = item / j.Groups, g = item - chunk * j.Groups;
        int m0 = g * j.Panels / j.Groups * Mr, m1 = Math.Min(j.OutChannels, (g + 1) * j.Panels / j.Groups * Mr);
        int s0 = chunk * j.ChunkSegments, s1 = Math.Min(j.OutHeight * j.SegmentsPerRow, s0 + j.ChunkSegments);
        int segmentFloats = j.Channels * 3 * j.SegmentStride;
        float* panel = KernelIsa.ThreadPointer((s1 - s0) * segmentFloats);
        for (int seg = s0; seg < s1; seg++) Pack<TOps, TV>(ref j, seg, panel + (long)(seg - s0) * segmentFloats);
        Compute<TOps, TV, TAct>(ref j, s0, s1, m0, m1, panel);
    }

    /// <summary>Segment's (ci, ky) rows: dst[(ci * 3 + ky) * stride + x] = input[ci, oy - pad + ky d, ox0 + x - pad], 0 outside.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack<TOps, TV>(ref Job j, int segment, float* dst) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, stride = j.SegmentStride;
        int oy = segment / j.SegmentsPerRow, ox0 = segment % j.SegmentsPerRow * j.SegmentWidth;
        int lo = Math.Clamp(j.Padding - ox0, 0, stride), hi = Math.Clamp(j.Width + j.Padding - ox0, lo, stride);
        for (int ci = 0; ci < j.Channels; ci++)
            for (int ky = 0; ky < 3; ky++, dst += stride)
            {
                int iy = oy - j.Padding + ky * j.Dilation;
                if ((uint)iy >= (uint)j.Height)
                {
                    for (int x = 0; x < stride; x += lanes) TOps.Store(dst + x, TOps.Zero);
                    continue;
                }
                float* src = j.Input + ((long)ci * j.Height + iy) * j.Width + ox0 - j.Padding;
                int x0 = 0;
                for (; x0 < lo; x0++) dst[x0] = 0f;
                for (; x0 + lanes <= hi; x0 += lanes) TOps.Store(dst + x0, TOps.Load(src + x0));
                for (; x0 < hi; x0++) dst[x0] = src[x0];
                for (; x0 < stride; x0++) dst[x0] = 0f;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Compute<TOps, TV, TAct>(ref Job j, int s0, int s1, int mStart, int mEnd, float* panel)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count;
        int k = j.Channels * 9, segmentFloats = j.Channels * 3 * j.SegmentStride;
        int outPixels = j.OutHeight * j.OutWidth;
        float* tile = stackalloc float[Mr * 3 * 16];
        float* bias8 = stackalloc float[Mr];
        for (int m0 = mStart; m0 < mEnd; m0 += Mr)
        {
            int rows = Math.Min(Mr, j.OutChannels - m0);
            for (int r = 0; r < Mr; r++) bias8[r] = r < rows && j.Bias != null ? j.Bias[m0 + r] : 0f;
            float* a = j.PackedW + (long)m0 * k;
            for (int seg = s0; seg < s1; seg++)
            {
                int oy = seg / j.SegmentsPerRow, ox0 = seg % j.SegmentsPerRow * j.SegmentWidth;
                int cols = Math.Min(j.SegmentWidth, j.OutWidth - ox0), nv = (cols + lanes - 1) / lanes;
                float* b = panel + (long)(seg - s0) * segmentFloats;
                float* c = j.Output + (long)m0 * outPixels + (long)oy * j.OutWidth + ox0;
                var taps = new Taps { Channels = j.Channels, ChannelStride = 3 * j.SegmentStride, RowStride = j.SegmentStride, Dilation = j.Dilation, VectorStride = lanes };
                if (nv == 3) Micro8xV3<TOps, TV>(taps, a, b, bias8, tile);
                else if (nv == 2) Micro8xV2<TOps, TV>(taps, a, b, bias8, tile);
                else Micro8xV1<TOps, TV>(taps, a, b, bias8, tile);
                Gemm.Epilogue<TOps, TV, TAct>(tile, 3 * lanes, rows, nv, cols, c, null, outPixels);
            }
        }
    }

    /// <summary>Where a tile's taps are: channel ci, kernel row ky, column kx of vector v at b + ci ChannelStride + ky RowStride + kx Dilation + v VectorStride.</summary>
    internal struct Taps
    {
        public int Channels, ChannelStride, RowStride, Dilation, VectorStride;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Micro8xV3<TOps, TV>(in Taps t, float* a, float* b, float* bias, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct
        => Micro<TOps, TV>(3, t, a, b, bias, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Micro8xV2<TOps, TV>(in Taps t, float* a, float* b, float* bias, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct
        => Micro<TOps, TV>(2, t, a, b, bias, tile);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Micro8xV1<TOps, TV>(in Taps t, float* a, float* b, float* bias, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct
        => Micro<TOps, TV>(1, t, a, b, bias, tile);

    /// <summary>
    /// 8 x nv-vector tile over the 9 taps of every input channel (in the im2col order ci, ky, kx, so results equal the
    /// im2col path), accumulators from the bias; weights advance 8 floats per tap. The tile is parked in L1
    /// (8 rows of 3 vectors) for the GEMM's epilogue.
    /// Its FMA block repeats Gemm.Micro's on purpose: giving that shared microkernel a tap loop (even one kept apart
    /// for the one-tap case) made the 64-pixel GEMMs 40 % slower, so the two loops stay separate.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Micro<TOps, TV>(int nv, in Taps t, float* a, float* b, float* bias, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, vs = t.VectorStride, d = t.Dilation;
        TV c00, c01 = default, c02 = default, c10, c11 = default, c12 = default;
        TV c20, c21 = default, c22 = default, c30, c31 = default, c32 = default;
        TV c40, c41 = default, c42 = default, c50, c51 = default, c52 = default;
        TV c60, c61 = default, c62 = default, c70, c71 = default, c72 = default;
        c00 = TOps.Broadcast(bias[0]); if (nv > 1) c01 = c00; if (nv > 2) c02 = c00;
        c10 = TOps.Broadcast(bias[1]); if (nv > 1) c11 = c10; if (nv > 2) c12 = c10;
        c20 = TOps.Broadcast(bias[2]); if (nv > 1) c21 = c20; if (nv > 2) c22 = c20;
        c30 = TOps.Broadcast(bias[3]); if (nv > 1) c31 = c30; if (nv > 2) c32 = c30;
        c40 = TOps.Broadcast(bias[4]); if (nv > 1) c41 = c40; if (nv > 2) c42 = c40;
        c50 = TOps.Broadcast(bias[5]); if (nv > 1) c51 = c50; if (nv > 2) c52 = c50;
        c60 = TOps.Broadcast(bias[6]); if (nv > 1) c61 = c60; if (nv > 2) c62 = c60;
        c70 = TOps.Broadcast(bias[7]); if (nv > 1) c71 = c70; if (nv > 2) c72 = c70;
        for (int ci = 0; ci < t.Channels; ci++, b += t.ChannelStride)
        for (int ky = 0; ky < 3; ky++)
        {
            float* bt = b + ky * t.RowStride;
            for (int kx = 0; kx < 3; kx++, bt += d, a += Mr)
            {
                TV b0 = TOps.Load(bt), b1 = default, b2 = default;
                if (nv > 1) b1 = TOps.Load(bt + vs);
                if (nv > 2) b2 = TOps.Load(bt + 2 * vs);
                TV w = TOps.Broadcast(a[0]);
                c00 = TOps.Fma(w, b0, c00); if (nv > 1) c01 = TOps.Fma(w, b1, c01); if (nv > 2) c02 = TOps.Fma(w, b2, c02);
                w = TOps.Broadcast(a[1]);
                c10 = TOps.Fma(w, b0, c10); if (nv > 1) c11 = TOps.Fma(w, b1, c11); if (nv > 2) c12 = TOps.Fma(w, b2, c12);
                w = TOps.Broadcast(a[2]);
                c20 = TOps.Fma(w, b0, c20); if (nv > 1) c21 = TOps.Fma(w, b1, c21); if (nv > 2) c22 = TOps.Fma(w, b2, c22);
                w = TOps.Broadcast(a[3]);
                c30 = TOps.Fma(w, b0, c30); if (nv > 1) c31 = TOps.Fma(w, b1, c31); if (nv > 2) c32 = TOps.Fma(w, b2, c32);
                w = TOps.Broadcast(a[4]);
                c40 = TOps.Fma(w, b0, c40); if (nv > 1) c41 = TOps.Fma(w, b1, c41); if (nv > 2) c42 = TOps.Fma(w, b2, c42);
                w = TOps.Broadcast(a[5]);
                c50 = TOps.Fma(w, b0, c50); if (nv > 1) c51 = TOps.Fma(w, b1, c51); if (nv > 2) c52 = TOps.Fma(w, b2, c52);
                w = TOps.Broadcast(a[6]);
                c60 = TOps.Fma(w, b0, c60); if (nv > 1) c61 = TOps.Fma(w, b1, c61); if (nv > 2) c62 = TOps.Fma(w, b2, c62);
                w = TOps.Broadcast(a[7]);
                c70 = TOps.Fma(w, b0, c70); if (nv > 1) c71 = TOps.Fma(w, b1, c71); if (nv > 2) c72 = TOps.Fma(w, b2, c72);
            }
        }
        int ldt = 3 * lanes;
        Gemm.Park<TOps, TV>(nv, c00, c01, c02, tile);
        Gemm.Park<TOps, TV>(nv, c10, c11, c12, tile + ldt);
        Gemm.Park<TOps, TV>(nv, c20, c21, c22, tile + 2 * ldt);
        Gemm.Park<TOps, TV>(nv, c30, c31, c32, tile + 3 * ldt);
        Gemm.Park<TOps, TV>(nv, c40, c41, c42, tile + 4 * ldt);
        Gemm.Park<TOps, TV>(nv, c50, c51, c52, tile + 5 * ldt);
        Gemm.Park<TOps, TV>(nv, c60, c61, c62, tile + 6 * ldt);
        Gemm.Park<TOps, TV>(nv, c70, c71, c72, tile + 7 * ldt);
    }
}
