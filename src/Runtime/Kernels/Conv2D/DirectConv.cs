using System.Runtime.CompilerServices;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Dense convolution with few taps (inChannels x k x k &lt;= <see cref="MaxTaps"/>: the 3-channel stem, 27 taps)
/// computed directly, without im2col: per output row, each input row (ci, ky) it needs is copied once into zero-padded
/// phase rows (the im2col packer's <see cref="Im2ColPacker.FillPhases"/>), then for each vector of output pixels and
/// each group of 8 output channels, 8 accumulators take one FMA per tap with the tap's input vector loaded once.
/// As a GEMM the stem had K = 27 and only 2 weight panels, so packing dominated (a quarter of peak). Each output is
/// summed in the GEMM's order (bias, then taps in (ci, ky, kx) order), so results are the same.
/// Weights are the GEMM's packed panels (<see cref="Gemm.PackWeights"/>): 8 output channels contiguous per tap.
/// </summary>
[SkipLocalsInit]
internal static unsafe class DirectConv
{
    public const int MaxTaps = 32;

    public static bool Applies(int inChannels, int kernelSize, int outWidth, Isa isa)
        => inChannels * kernelSize * kernelSize <= MaxTaps && outWidth >= KernelIsa.Lanes(isa);

    private struct Job
    {
        public Im2ColPacker Geometry;
        public float* PackedW, Bias, Output;
        public int OutChannels, OutHeight, Items;
    }

    public static void Run<TOps, TV, TAct>(Im2ColPacker geometry, float* packedW, float* bias, float* output,
        int outChannels, int outHeight, WorkerPool? pool)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        // Items are ranges of output rows, about 3 per thread so a descheduled thread's share is picked up by the others.
        int items = pool is null || pool.Threads == 1 ? 1 : Math.Min(outHeight, 3 * pool.Threads);
        var job = new Job { Geometry = geometry, PackedW = packedW, Bias = bias, Output = output, OutChannels = outChannels, OutHeight = outHeight, Items = items };
        if (items == 1) Item<TOps, TV, TAct>(&job, 0, 0);
        else pool!.For(items, &Item<TOps, TV, TAct>, &job);
    }

    private static void Item<TOps, TV, TAct>(void* state, int item, int thread)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        ref Job j = ref Unsafe.AsRef<Job>(state);
        int y0 = (int)((long)item * j.OutHeight / j.Items), y1 = (int)((long)(item + 1) * j.OutHeight / j.Items);
        Rows<TOps, TV, TAct>(ref j, y0, y1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TOps, TV, TAct>(ref Job j, int y0, int y1)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        var g = j.Geometry;
        int k = g.KernelSize, s = g.Stride, dil = g.Dilation, lanes = TOps.Count;
        int taps = g.Channels * k * k, outWidth = g.OutWidth, outPixels = j.OutHeight * outWidth;
        int maxShift = (k - 1) * dil / s;
        int phaseLength = outWidth + maxShift + 2 * lanes;
        int rowFloats = s * phaseLength;
        // One phase-row set per input row (ci, ky), then one zero row for rows outside the image.
        float* rows = KernelIsa.ThreadPointer((g.Channels * k + 1) * rowFloats);
        float* zero = rows + g.Channels * k * rowFloats;
        new Span<float>(zero, rowFloats).Clear();
        float** tap = stackalloc float*[MaxTaps];
        float* odd = stackalloc float[16];
        float* tile = stackalloc float[16];
        for (int oy = y0; oy < y1; oy++)
        {
            for (int ci = 0; ci < g.Channels; ci++)
                for (int ky = 0; ky < k; ky++)
                {
                    int iy = oy * s - g.Padding + ky * dil;
                    float* phases = zero;
                    if ((uint)iy < (uint)g.Height)
                    {
                        phases = rows + (ci * k + ky) * rowFloats;
                        g.FillPhases<TOps, TV>(g.Input + ((long)ci * g.Height + iy) * g.Width, phases, phaseLength, 0, outWidth + maxShift, odd);
                    }
                    for (int kx = 0; kx < k; kx++)
                    {
                        int t = kx * dil;
                        tap[(ci * k + ky) * k + kx] = phases + t % s * phaseLength + t / s;
                    }
                }
            for (int c0 = 0; c0 < j.OutChannels; c0 += 8)
            {
                float* w = j.PackedW + (long)c0 * taps; // panel c0 / 8: [tap][8]
                int channels = Math.Min(8, j.OutChannels - c0);
                float* dst = j.Output + (long)c0 * outPixels + (long)oy * outWidth;
                float* bias = j.Bias == null ? null : j.Bias + c0;
                int ox = 0;
                for (; ox + 2 * lanes <= outWidth; ox += 2 * lanes)
                    Vectors8<TOps, TV, TAct>(2, tap, taps, w, bias, dst, outPixels, ox, outWidth, channels, tile);
                for (; ox < outWidth; ox += lanes)
                    Vectors8<TOps, TV, TAct>(1, tap, taps, w, bias, dst, outPixels, ox, outWidth, channels, tile);
            }
        }
    }

    /// <summary>
    /// 8 output channels x nv (1 or 2) vectors of output pixels at ox: bias, then one FMA per tap per channel and vector.
    /// Two vectors share each weight broadcast (16 FMAs per 8 broadcasts and 2 loads; one vector was load-bound).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Vectors8<TOps, TV, TAct>(int nv, float** tap, int taps, float* w, float* bias, float* dst, int outPixels,
        int ox, int outWidth, int channels, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count;
        TV a0 = TOps.Broadcast(bias == null ? 0f : bias[0]);
        TV a1 = TOps.Broadcast(bias == null || channels < 2 ? 0f : bias[1]);
        TV a2 = TOps.Broadcast(bias == null || channels < 3 ? 0f : bias[2]);
        TV a3 = TOps.Broadcast(bias == null || channels < 4 ? 0f : bias[3]);
        TV a4 = TOps.Broadcast(bias == null || channels < 5 ? 0f : bias[4]);
        TV a5 = TOps.Broadcast(bias == null || channels < 6 ? 0f : bias[5]);
        TV a6 = TOps.Broadcast(bias == null || channels < 7 ? 0f : bias[6]);
        TV a7 = TOps.Broadcast(bias == null || channels < 8 ? 0f : bias[7]);
        TV b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5, b6 = a6, b7 = a7;
        for (int t = 0; t < taps; t++, w += 8)
        {
            float* p = tap[t] + ox;
            TV x = TOps.Load(p), y = nv > 1 ? TOps.Load(p + lanes) : default;
            TV wv = TOps.Broadcast(w[0]); a0 = TOps.Fma(wv, x, a0); if (nv > 1) b0 = TOps.Fma(wv, y, b0);
            wv = TOps.Broadcast(w[1]); a1 = TOps.Fma(wv, x, a1); if (nv > 1) b1 = TOps.Fma(wv, y, b1);
            wv = TOps.Broadcast(w[2]); a2 = TOps.Fma(wv, x, a2); if (nv > 1) b2 = TOps.Fma(wv, y, b2);
            wv = TOps.Broadcast(w[3]); a3 = TOps.Fma(wv, x, a3); if (nv > 1) b3 = TOps.Fma(wv, y, b3);
            wv = TOps.Broadcast(w[4]); a4 = TOps.Fma(wv, x, a4); if (nv > 1) b4 = TOps.Fma(wv, y, b4);
            wv = TOps.Broadcast(w[5]); a5 = TOps.Fma(wv, x, a5); if (nv > 1) b5 = TOps.Fma(wv, y, b5);
            wv = TOps.Broadcast(w[6]); a6 = TOps.Fma(wv, x, a6); if (nv > 1) b6 = TOps.Fma(wv, y, b6);
            wv = TOps.Broadcast(w[7]); a7 = TOps.Fma(wv, x, a7); if (nv > 1) b7 = TOps.Fma(wv, y, b7);
        }
        int remaining = outWidth - ox;
        StoreChannels<TOps, TV, TAct>(a0, a1, a2, a3, a4, a5, a6, a7, dst + ox, outPixels, remaining, channels, tile);
        if (nv > 1) StoreChannels<TOps, TV, TAct>(b0, b1, b2, b3, b4, b5, b6, b7, dst + ox + lanes, outPixels, remaining - lanes, channels, tile);
    }

    /// <summary>One vector of pixels of up to 8 output channels (planes outPixels apart), activated.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreChannels<TOps, TV, TAct>(TV x0, TV x1, TV x2, TV x3, TV x4, TV x5, TV x6, TV x7, float* dst,
        int outPixels, int remaining, int channels, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        Store<TOps, TV, TAct>(x0, dst, remaining, tile);
        if (channels > 1) Store<TOps, TV, TAct>(x1, dst + outPixels, remaining, tile);
        if (channels > 2) Store<TOps, TV, TAct>(x2, dst + 2L * outPixels, remaining, tile);
        if (channels > 3) Store<TOps, TV, TAct>(x3, dst + 3L * outPixels, remaining, tile);
        if (channels > 4) Store<TOps, TV, TAct>(x4, dst + 4L * outPixels, remaining, tile);
        if (channels > 5) Store<TOps, TV, TAct>(x5, dst + 5L * outPixels, remaining, tile);
        if (channels > 6) Store<TOps, TV, TAct>(x6, dst + 6L * outPixels, remaining, tile);
        if (channels > 7) Store<TOps, TV, TAct>(x7, dst + 7L * outPixels, remaining, tile);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TOps, TV, TAct>(TV acc, float* dst, int remaining, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        acc = TOps.Act<TAct>(acc);
        if (remaining >= TOps.Count) TOps.Store(dst, acc);
        else
        {
            TOps.Store(tile, acc);
            for (int i = 0; i < remaining; i++) dst[i] = tile[i];
        }
    }
}
