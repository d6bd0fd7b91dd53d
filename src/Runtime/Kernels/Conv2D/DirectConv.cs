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
                for (int ox = 0; ox < outWidth; ox += lanes)
                    Vector8<TOps, TV, TAct>(tap, taps, w, j.Bias == null ? null : j.Bias + c0, dst, outPixels, ox, outWidth, channels, tile);
            }
        }
    }

    /// <summary>8 output channels x one vector of output pixels at ox: bias, then one FMA per tap per channel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Vector8<TOps, TV, TAct>(float** tap, int taps, float* w, float* bias, float* dst, int outPixels,
        int ox, int outWidth, int channels, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        TV a0 = TOps.Broadcast(bias == null ? 0f : bias[0]);
        TV a1 = TOps.Broadcast(bias == null || channels < 2 ? 0f : bias[1]);
        TV a2 = TOps.Broadcast(bias == null || channels < 3 ? 0f : bias[2]);
        TV a3 = TOps.Broadcast(bias == null || channels < 4 ? 0f : bias[3]);
        TV a4 = TOps.Broadcast(bias == null || channels < 5 ? 0f : bias[4]);
        TV a5 = TOps.Broadcast(bias == null || channels < 6 ? 0f : bias[5]);
        TV a6 = TOps.Broadcast(bias == null || channels < 7 ? 0f : bias[6]);
        TV a7 = TOps.Broadcast(bias == null || channels < 8 ? 0f : bias[7]);
        for (int t = 0; t < taps; t++, w += 8)
        {
            TV x = TOps.Load(tap[t] + ox);
            a0 = TOps.Fma(TOps.Broadcast(w[0]), x, a0);
            a1 = TOps.Fma(TOps.Broadcast(w[1]), x, a1);
            a2 = TOps.Fma(TOps.Broadcast(w[2]), x, a2);
            a3 = TOps.Fma(TOps.Broadcast(w[3]), x, a3);
            a4 = TOps.Fma(TOps.Broadcast(w[4]), x, a4);
            a5 = TOps.Fma(TOps.Broadcast(w[5]), x, a5);
            a6 = TOps.Fma(TOps.Broadcast(w[6]), x, a6);
            a7 = TOps.Fma(TOps.Broadcast(w[7]), x, a7);
        }
        int remaining = outWidth - ox;
        Store<TOps, TV, TAct>(a0, dst + ox, remaining, tile);
        if (channels > 1) Store<TOps, TV, TAct>(a1, dst + outPixels + ox, remaining, tile);
        if (channels > 2) Store<TOps, TV, TAct>(a2, dst + 2L * outPixels + ox, remaining, tile);
        if (channels > 3) Store<TOps, TV, TAct>(a3, dst + 3L * outPixels + ox, remaining, tile);
        if (channels > 4) Store<TOps, TV, TAct>(a4, dst + 4L * outPixels + ox, remaining, tile);
        if (channels > 5) Store<TOps, TV, TAct>(a5, dst + 5L * outPixels + ox, remaining, tile);
        if (channels > 6) Store<TOps, TV, TAct>(a6, dst + 6L * outPixels + ox, remaining, tile);
        if (channels > 7) Store<TOps, TV, TAct>(a7, dst + 7L * outPixels + ox, remaining, tile);
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
