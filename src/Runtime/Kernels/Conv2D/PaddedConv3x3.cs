using System.Runtime.CompilerServices;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Stride-1 3x3 convolution (any padding and dilation) of maps whose output rows fit in one vector (8x8 maps with
/// Vector256, 16x16 with Vector512): the input is copied once into a zero-padded [inC, H + 2 pad, S] buffer, and
/// each tile is 8 output channels x up to 3 output rows of one vector each, whose tap (ky, kx) reads padded row
/// oy + ky d at column kx d. No per-block packing at all: im2col packs 9 inC rows for every 48 pixels, which at 8x8
/// (64 pixels) cost a third of the convolution. Lanes past the row's end compute on padding and are not stored.
/// Microkernel: <see cref="RowConv3x3"/>'s, so taps go in the im2col order and results equal the im2col path.
/// </summary>
[SkipLocalsInit]
internal static unsafe class PaddedConv3x3
{
    private const int Mr = Gemm.Mr;

    public static bool Applies<TOps, TV>(int kernelSize, int stride, int outWidth) where TOps : struct, IVecOps<TV> where TV : struct
        => kernelSize == 3 && stride == 1 && TOps.Mr8 && outWidth <= TOps.Count;

    private struct Job
    {
        public float* Input, Padded, PackedW, Bias, Output;
        public int Channels, Height, Width, Padding, Dilation, PaddedHeight, RowStride, OutChannels, OutHeight, OutWidth;
        public int RowGroups, Panels, PadSlices;
    }

    public static void Run<TOps, TV, TAct>(float* input, float* packedW, float* bias, float* output, int channels, int height,
        int width, int outChannels, int outHeight, int outWidth, int padding, int dilation, WorkerPool? pool)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count;
        int paddedHeight = height + 2 * padding;
        // A padded row holds the map's row and reaches every tap's full vector: 2 d + one vector.
        int rowStride = (Math.Max(width + 2 * padding, 2 * dilation + lanes) + 3) / 4 * 4;
        var job = new Job
        {
            Input = input, PackedW = packedW, Bias = bias, Output = output, Channels = channels, Height = height, Width = width,
            Padding = padding, Dilation = dilation, PaddedHeight = paddedHeight, RowStride = rowStride,
            OutChannels = outChannels, OutHeight = outHeight, OutWidth = outWidth,
            RowGroups = (outHeight + 2) / 3, Panels = (outChannels + Mr - 1) / Mr, PadSlices = 1,
        };
        job.Padded = KernelIsa.ThreadPointer(channels * paddedHeight * rowStride);
        int items = job.Panels * job.RowGroups;
        if (pool is null || pool.Threads == 1 || items < 2)
        {
            PadChannels<TOps, TV>(&job, 0, 0);
            for (int i = 0; i < items; i++) Item<TOps, TV, TAct>(&job, i, 0);
            return;
        }
        job.PadSlices = pool.Threads; // each thread pads a slice of the channels
        pool.For(pool.Threads, &PadChannels<TOps, TV>, &job);
        pool.For(items, &Item<TOps, TV, TAct>, &job);
    }

    /// <summary>padded[ci, py, px] = input[ci, py - pad, px - pad], 0 outside, for the channels of slice <paramref name="item"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadChannels<TOps, TV>(void* state, int item, int thread)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        ref Job j = ref Unsafe.AsRef<Job>(state);
        int lanes = TOps.Count, s = j.RowStride;
        int c0 = item * j.Channels / j.PadSlices, c1 = (item + 1) * j.Channels / j.PadSlices;
        for (int ci = c0; ci < c1; ci++)
        {
            float* dst = j.Padded + (long)ci * j.PaddedHeight * s;
            for (int py = 0; py < j.PaddedHeight; py++, dst += s)
            {
                int iy = py - j.Padding;
                int x = 0;
                if ((uint)iy < (uint)j.Height)
                {
                    float* src = j.Input + ((long)ci * j.Height + iy) * j.Width;
                    for (; x < j.Padding; x++) dst[x] = 0f;
                    int c = 0;
                    for (; c + lanes <= j.Width; c += lanes) TOps.Store(dst + x + c, TOps.Load(src + c));
                    for (; c < j.Width; c++) dst[x + c] = src[c];
                    x += j.Width;
                }
                for (; x < s; x++) dst[x] = 0f;
            }
        }
    }

    /// <summary>Item = (weight panel, group of up to 3 output rows); groups split the rows evenly (16 rows: 3,3,3,3,2,2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Item<TOps, TV, TAct>(void* state, int item, int thread)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        ref Job j = ref Unsafe.AsRef<Job>(state);
        int lanes = TOps.Count;
        int panel = item / j.RowGroups, g = item - panel * j.RowGroups;
        int oy0 = g * j.OutHeight / j.RowGroups, nv = (g + 1) * j.OutHeight / j.RowGroups - oy0;
        int m0 = panel * Mr, rows = Math.Min(Mr, j.OutChannels - m0);
        float* tile = stackalloc float[Mr * 3 * 16];
        float* bias8 = stackalloc float[Mr];
        for (int r = 0; r < Mr; r++) bias8[r] = r < rows && j.Bias != null ? j.Bias[m0 + r] : 0f;
        var taps = new RowConv3x3.Taps
        {
            Channels = j.Channels, ChannelStride = j.PaddedHeight * j.RowStride, RowStride = j.Dilation * j.RowStride,
            Dilation = j.Dilation, VectorStride = j.RowStride,
        };
        float* a = j.PackedW + (long)m0 * j.Channels * 9;
        float* b = j.Padded + (long)oy0 * j.RowStride;
        if (nv == 3) RowConv3x3.Micro8xV3<TOps, TV>(taps, a, b, bias8, tile);
        else if (nv == 2) RowConv3x3.Micro8xV2<TOps, TV>(taps, a, b, bias8, tile);
        else RowConv3x3.Micro8xV1<TOps, TV>(taps, a, b, bias8, tile);
        int outPixels = j.OutHeight * j.OutWidth;
        float* c = j.Output + (long)m0 * outPixels + (long)oy0 * j.OutWidth;
        // Tile vector v is output row oy0 + v: contiguous when a row is exactly one vector.
        if (j.OutWidth == lanes) Gemm.Epilogue<TOps, TV, TAct>(tile, 3 * lanes, rows, nv, nv * lanes, c, null, outPixels);
        else
            for (int v = 0; v < nv; v++)
                Gemm.Epilogue<TOps, TV, TAct>(tile + v * lanes, 3 * lanes, rows, 1, j.OutWidth, c + v * j.OutWidth, null, outPixels);
    }
}
