using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Kernels.Reference;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Depthwise k x k convolution (groups = channels) with zero padding, stride 1 or 2, any dilation.
/// Each input row is copied once into a zero-padded row slot of a small ring (rows split into <c>stride</c> phases:
/// phase r holds padded columns r, r + s, r + 2s, ...; stride 2 is de-interleaved with vector narrowing), so every
/// tap of every output pixel is a contiguous, in-bounds vector load: no border cases in the inner loop, no gathers.
/// The inner loop is vectorized over output columns (DwConv3x3 with the 9 weights in registers, or any k) and
/// applies the activation in registers before the store.
/// </summary>
[SkipLocalsInit]
public static unsafe class DepthwiseConv2D
{
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int channels, int inHeight, int inWidth, int kernelSize, int stride, int padding, int dilation,
        WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunIsa<TAct>(input, weight, bias, output, channels, inHeight, inWidth, kernelSize, stride, padding, dilation, KernelIsa.Best, pool);

    internal static void RunIsa<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int channels, int inHeight, int inWidth, int kernelSize, int stride, int padding, int dilation, Isa isa,
        WorkerPool? pool = null)
        where TAct : struct, IActivation
    {
        int outHeight = ReferenceKernels.ConvOutputSize(inHeight, kernelSize, stride, padding, dilation);
        int outWidth = ReferenceKernels.ConvOutputSize(inWidth, kernelSize, stride, padding, dilation);
        if (outHeight <= 0 || outWidth <= 0 || channels <= 0) return;
        if (stride < 1 || dilation < 1) throw new ArgumentOutOfRangeException(nameof(stride));
        if (input.Length < channels * inHeight * inWidth) throw new ArgumentException("input too short", nameof(input));
        if (weight.Length < channels * kernelSize * kernelSize) throw new ArgumentException("weight too short", nameof(weight));
        if (output.Length < channels * outHeight * outWidth) throw new ArgumentException("output too short", nameof(output));
        if (!bias.IsEmpty && bias.Length < channels) throw new ArgumentException("bias too short", nameof(bias));

        int lanes = KernelIsa.Lanes(isa);
        int qMax = (kernelSize - 1) * dilation / stride;
        // Each padded input row is split into `stride` phases of phaseLength floats (a multiple of the vector width,
        // long enough for every tap of the last, possibly partial, output vector).
        int phaseLength = ((outWidth + lanes - 1) / lanes * lanes + qMax + lanes - 1) / lanes * lanes;
        int rowStride = stride * phaseLength;
        // An output row reads `span` consecutive padded rows; they live in a ring of row slots (a few KB, so it stays
        // in L1) instead of a padded copy of the whole channel (64+ KB, which spilled to L2). The ring also holds the
        // `stride` rows the next output row adds: they are filled one row ahead, because loading a vector right
        // after it was stored (unaligned, across two stores) stalls on store forwarding.
        int span = (kernelSize - 1) * dilation + 1;
        int slots = span + stride;
        // Stride 2: two zero-padded contiguous rows (the current one and the next) before de-interleaving.
        int tempLength = stride == 1 ? 0 : 2 * (stride * phaseLength + 2 * lanes);
        int* cols = stackalloc int[kernelSize];
        for (int kx = 0; kx < kernelSize; kx++)
        {
            int t = kx * dilation;
            cols[kx] = t % stride * phaseLength + t / stride;
        }

        fixed (float* pIn = input, pW = weight, pB = bias, pOut = output)
        {
            var a = new Args
            {
                Input = pIn, Weight = pW, Bias = bias.IsEmpty ? null : pB, Output = pOut, Channels = channels,
                Height = inHeight, Width = inWidth, K = kernelSize, Stride = stride, Padding = padding, Dilation = dilation,
                OutHeight = outHeight, OutWidth = outWidth, PhaseLength = phaseLength, Cols = cols,
                Span = span, Slots = slots, TempLength = tempLength,
            };
            // Items are channel ranges (each channel is computed by one thread, in the same order as serially);
            // about 3 per thread so a descheduled thread's share is picked up by the others.
            int items = pool is null || pool.Threads == 1 ? 1 : Math.Min(channels, 3 * pool.Threads);
            a.Items = items;
            if (DepthwiseRows3x3.Applies(kernelSize, stride, padding, dilation, inWidth, isa))
            {
                if (items == 1) AlignedItem<TAct>(&a, 0, 0);
                else pool!.For(items, &AlignedItem<TAct>, &a);
                return;
            }
            delegate*<void*, int, int, void> body = isa switch
            {
                Isa.Vector512 => &Item<Ops512, Vector512<float>, TAct>,
                Isa.Vector256 => &Item<Ops256, Vector256<float>, TAct>,
                Isa.Vector128 => &Item<Ops128, Vector128<float>, TAct>,
                _ => &Item<OpsScalar, float, TAct>,
            };
            if (items == 1) body(&a, 0, 0);
            else pool!.For(items, body, &a);
        }
    }

    private static void Item<TOps, TV, TAct>(void* state, int item, int thread)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        Args a = *(Args*)state;
        int rowStride = a.Stride * a.PhaseLength;
        // Ring slots, one zero row (the top and bottom padding rows), the two stride-2 row buffers, the k row pointers.
        int ringLength = (a.Slots + 1) * rowStride;
        int pointers = (a.K * sizeof(nint) + sizeof(float) - 1) / sizeof(float);
        float* buffer = KernelIsa.ThreadPointer(ringLength + a.TempLength + pointers);
        // Zeroed once per item: a row only ever rewrites the image footprint inside its slot, so the padding stays zero.
        new Span<float>(buffer, ringLength + a.TempLength).Clear();
        float* tile = stackalloc float[16];
        a.Ring = buffer;
        a.Temp = buffer + ringLength;
        a.Rows = (float**)(a.Temp + a.TempLength);
        a.Tile = tile;
        a.C0 = (int)((long)item * a.Channels / a.Items);
        a.C1 = (int)((long)(item + 1) * a.Channels / a.Items);
        Impl<TOps, TV, TAct>(in a);
    }

    private static void AlignedItem<TAct>(void* state, int item, int thread) where TAct : struct, IActivation
    {
        ref Args a = ref *(Args*)state;
        DepthwiseRows3x3.Channels<TAct>(a.Input, a.Weight, a.Bias, a.Output, (int)((long)item * a.Channels / a.Items),
            (int)((long)(item + 1) * a.Channels / a.Items), a.Height, a.Width, a.Stride);
    }

    private struct Args
    {
        public float* Input, Weight, Bias, Output, Ring, Temp, Tile;
        public float** Rows;
        public int* Cols;
        public int Channels, Height, Width, K, Stride, Padding, Dilation, OutHeight, OutWidth, PhaseLength;
        public int Span, Slots, TempLength, Items, C0, C1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Impl<TOps, TV, TAct>(in Args a)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int k = a.K, s = a.Stride, d = a.Dilation, pad = a.Padding, span = a.Span, slots = a.Slots, height = a.Height;
        int phaseLength = a.PhaseLength, outWidth = a.OutWidth, outHeight = a.OutHeight;
        int rowStride = s * phaseLength;
        float* ring = a.Ring, zeroRow = ring + slots * rowStride;
        float** rows = a.Rows;
        for (int c = a.C0; c < a.C1; c++)
        {
            float* src = a.Input + (long)c * height * a.Width;
            float* w = a.Weight + c * k * k;
            float b = a.Bias == null ? 0f : a.Bias[c];
            float* dst = a.Output + (long)c * outHeight * outWidth;
            int filled = 0; // padded rows [0, filled) have been through the ring
            for (int oy = 0; oy < outHeight; oy++)
            {
                // Padded row pr (image row pr - pad) goes to slot pr % slots; the rows an output row reads and the
                // ones filled ahead for the next are consecutive, so they never share a slot. Each input row is
                // copied once.
                int top = oy * s;
                for (; filled < top + span + s; filled++)
                {
                    int iy = filled - pad;
                    if ((uint)iy < (uint)height)
                        FillRow<TOps, TV>(src, iy, height, a.Width, pad, s, ring + filled % slots * rowStride, phaseLength, a.Temp);
                }
                for (int ky = 0; ky < k; ky++)
                {
                    int pr = top + ky * d;
                    rows[ky] = (uint)(pr - pad) < (uint)height ? ring + pr % slots * rowStride : zeroRow;
                }
                float* outRow = dst + (long)oy * outWidth;
                if (k == 3) Row3x3<TOps, TV, TAct>(rows[0], rows[1], rows[2], a.Cols, w, b, outRow, outWidth, a.Tile);
                else RowAny<TOps, TV, TAct>(rows, a.Cols, k, w, b, outRow, outWidth, a.Tile);
            }
        }
    }

    /// <summary>
    /// rows[r * phaseLength + j] = row iy of the channel at src, column s * j + r - pad, where that is inside the row;
    /// the zeros around it were written when the buffer was cleared and are never overwritten. Rows are filled in
    /// order, from iy = 0, per channel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FillRow<TOps, TV>(float* src, int iy, int height, int width, int pad, int s, float* rows, int phaseLength, float* temp)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        float* row = src + (long)iy * width;
        if (s == 1)
        {
            Copy<TOps, TV>(row, rows + pad, Math.Min(width, phaseLength - pad));
            return;
        }
        if (s == 2)
        {
            // Zero-padded contiguous row, then split even/odd columns with vector narrowing. The copy is made one row
            // ahead into the other half of temp: reading it back right after the (unaligned) stores would stall on
            // store forwarding for every vector.
            int lanes = TOps.Count, half = 2 * phaseLength + 2 * lanes, count = Math.Min(width, 2 * phaseLength - pad);
            float* cur = temp + (iy & 1) * half;
            if (iy == 0) Copy<TOps, TV>(row, cur + pad, count);
            if (iy + 1 < height) Copy<TOps, TV>(row + width, temp + ((iy + 1) & 1) * half + pad, count);
            float* odd = rows + phaseLength;
            for (int j = 0; j < phaseLength; j += lanes) TOps.Deinterleave(cur + 2 * j, rows + j, odd + j);
            return;
        }
        for (int r = 0; r < s; r++)
        {
            float* phase = rows + r * phaseLength;
            for (int j = 0; j < phaseLength; j++)
            {
                int x = s * j + r - pad;
                phase[j] = (uint)x < (uint)width ? row[x] : 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy<TOps, TV>(float* src, float* dst, int count)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        int i = 0;
        for (; i + lanes <= count; i += lanes) TOps.Store(dst + i, TOps.Load(src + i));
        for (; i < count; i++) dst[i] = src[i];
    }

    /// <summary>
    /// One output row of a 3x3 kernel: the 9 weights stay in registers, and the activation is applied to each vector
    /// before it is stored (no second pass over the output). The common tap layouts get a loop with constant offsets.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row3x3<TOps, TV, TAct>(float* r0, float* r1, float* r2, int* cols, float* w, float bias, float* dst, int outWidth, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int c0 = cols[0], c1 = cols[1], c2 = cols[2];
        if (c1 == 1 && c2 == 2) // stride 1 with dilation 1 (or stride 2 with dilation 2): columns 0, 1, 2 of a phase
        {
            Row3x3Fixed<TOps, TV, TAct, Taps012>(r0, r1, r2, 0, w, bias, dst, outWidth, tile);
            return;
        }
        if (c2 == 1) // stride 2, dilation 1: columns 0 and 1 of the even phase, column 0 of the odd one
        {
            Row3x3Fixed<TOps, TV, TAct, TapsStride2>(r0, r1, r2, c1, w, bias, dst, outWidth, tile);
            return;
        }
        int lanes = TOps.Count;
        TV w0 = TOps.Broadcast(w[0]), w1 = TOps.Broadcast(w[1]), w2 = TOps.Broadcast(w[2]);
        TV w3 = TOps.Broadcast(w[3]), w4 = TOps.Broadcast(w[4]), w5 = TOps.Broadcast(w[5]);
        TV w6 = TOps.Broadcast(w[6]), w7 = TOps.Broadcast(w[7]), w8 = TOps.Broadcast(w[8]);
        TV vb = TOps.Broadcast(bias);
        float* p0 = r0 + c0, p1 = r0 + c1, p2 = r0 + c2;
        float* p3 = r1 + c0, p4 = r1 + c1, p5 = r1 + c2;
        float* p6 = r2 + c0, p7 = r2 + c1, p8 = r2 + c2;
        for (int ox = 0; ox < outWidth; ox += lanes)
        {
            TV acc = TOps.Fma(w0, TOps.Load(p0 + ox), vb);
            TV acc2 = TOps.Mul(w1, TOps.Load(p1 + ox));
            acc = TOps.Fma(w2, TOps.Load(p2 + ox), acc);
            acc2 = TOps.Fma(w3, TOps.Load(p3 + ox), acc2);
            acc = TOps.Fma(w4, TOps.Load(p4 + ox), acc);
            acc2 = TOps.Fma(w5, TOps.Load(p5 + ox), acc2);
            acc = TOps.Fma(w6, TOps.Load(p6 + ox), acc);
            acc2 = TOps.Fma(w7, TOps.Load(p7 + ox), acc2);
            acc = TOps.Fma(w8, TOps.Load(p8 + ox), acc);
            Store<TOps, TV>(TOps.Act<TAct>(TOps.Add(acc, acc2)), dst + ox, outWidth - ox, tile);
        }
    }

    /// <summary>Where the kx = 1 and kx = 2 taps are, as compile-time constants for <see cref="Row3x3Fixed"/>.</summary>
    private interface ITaps3
    {
        /// <summary>Whether the kx = 1 tap is in the odd phase (at midOffset) rather than in the row's own phase.</summary>
        static abstract bool OddMid { get; }
        /// <summary>Column of the kx = 1 tap from its phase.</summary>
        static abstract int Mid { get; }
        /// <summary>Column of the kx = 2 tap from the row pointer.</summary>
        static abstract int Right { get; }
    }

    private readonly struct Taps012 : ITaps3
    {
        public static bool OddMid => false;
        public static int Mid => 1;
        public static int Right => 2;
    }

    private readonly struct TapsStride2 : ITaps3
    {
        public static bool OddMid => true;
        public static int Mid => 0;
        public static int Right => 1;
    }

    /// <summary>
    /// <see cref="Row3x3"/> with the taps at constant offsets from three or six pointers (the general loop holds nine
    /// and, out of registers, reloads some per vector), two vectors per iteration: independent chains the out-of-order core
    /// overlaps with the activation's (30 instead of 35 cycles per vector in a standalone loop). Every output is
    /// summed in the same order as in the one-vector loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row3x3Fixed<TOps, TV, TAct, TTaps>(float* r0, float* r1, float* r2, int midOffset, float* w, float bias, float* dst, int outWidth, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation where TTaps : struct, ITaps3
    {
        int lanes = TOps.Count, mid = TTaps.Mid, right = TTaps.Right;
        TV w0 = TOps.Broadcast(w[0]), w1 = TOps.Broadcast(w[1]), w2 = TOps.Broadcast(w[2]);
        TV w3 = TOps.Broadcast(w[3]), w4 = TOps.Broadcast(w[4]), w5 = TOps.Broadcast(w[5]);
        TV w6 = TOps.Broadcast(w[6]), w7 = TOps.Broadcast(w[7]), w8 = TOps.Broadcast(w[8]);
        TV vb = TOps.Broadcast(bias);
        // Without an odd phase the "middle" pointers are the row pointers (three registers instead of six).
        if (!TTaps.OddMid) midOffset = 0;
        float* m0 = r0 + midOffset, m1 = r1 + midOffset, m2 = r2 + midOffset;
        // The pointers advance with the output (constant displacements in every load, few registers).
        int ox = 0;
        for (; ox + 2 * lanes <= outWidth; ox += 2 * lanes)
        {
            TV acc = TOps.Fma(w0, TOps.Load(r0), vb);
            TV bcc = TOps.Fma(w0, TOps.Load(r0 + lanes), vb);
            TV acc2 = TOps.Mul(w1, TOps.Load(m0 + mid));
            TV bcc2 = TOps.Mul(w1, TOps.Load(m0 + lanes + mid));
            acc = TOps.Fma(w2, TOps.Load(r0 + right), acc);
            bcc = TOps.Fma(w2, TOps.Load(r0 + lanes + right), bcc);
            acc2 = TOps.Fma(w3, TOps.Load(r1), acc2);
            bcc2 = TOps.Fma(w3, TOps.Load(r1 + lanes), bcc2);
            acc = TOps.Fma(w4, TOps.Load(m1 + mid), acc);
            bcc = TOps.Fma(w4, TOps.Load(m1 + lanes + mid), bcc);
            acc2 = TOps.Fma(w5, TOps.Load(r1 + right), acc2);
            bcc2 = TOps.Fma(w5, TOps.Load(r1 + lanes + right), bcc2);
            acc = TOps.Fma(w6, TOps.Load(r2), acc);
            bcc = TOps.Fma(w6, TOps.Load(r2 + lanes), bcc);
            acc2 = TOps.Fma(w7, TOps.Load(m2 + mid), acc2);
            bcc2 = TOps.Fma(w7, TOps.Load(m2 + lanes + mid), bcc2);
            acc = TOps.Fma(w8, TOps.Load(r2 + right), acc);
            bcc = TOps.Fma(w8, TOps.Load(r2 + lanes + right), bcc);
            TOps.Store(dst, TOps.Act<TAct>(TOps.Add(acc, acc2)));
            TOps.Store(dst + lanes, TOps.Act<TAct>(TOps.Add(bcc, bcc2)));
            r0 += 2 * lanes; r1 += 2 * lanes; r2 += 2 * lanes; dst += 2 * lanes;
            if (TTaps.OddMid) { m0 += 2 * lanes; m1 += 2 * lanes; m2 += 2 * lanes; }
            else { m0 = r0; m1 = r1; m2 = r2; }
        }
        for (; ox < outWidth; ox += lanes)
        {
            TV acc = TOps.Fma(w0, TOps.Load(r0), vb);
            TV acc2 = TOps.Mul(w1, TOps.Load(m0 + mid));
            acc = TOps.Fma(w2, TOps.Load(r0 + right), acc);
            acc2 = TOps.Fma(w3, TOps.Load(r1), acc2);
            acc = TOps.Fma(w4, TOps.Load(m1 + mid), acc);
            acc2 = TOps.Fma(w5, TOps.Load(r1 + right), acc2);
            acc = TOps.Fma(w6, TOps.Load(r2), acc);
            acc2 = TOps.Fma(w7, TOps.Load(m2 + mid), acc2);
            acc = TOps.Fma(w8, TOps.Load(r2 + right), acc);
            Store<TOps, TV>(TOps.Act<TAct>(TOps.Add(acc, acc2)), dst, outWidth - ox, tile);
            r0 += lanes; r1 += lanes; r2 += lanes; m0 += lanes; m1 += lanes; m2 += lanes; dst += lanes;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowAny<TOps, TV, TAct>(float** rows, int* cols, int k, float* w, float bias, float* dst, int outWidth, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count;
        for (int ox = 0; ox < outWidth; ox += lanes)
        {
            TV acc = TOps.Broadcast(bias);
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                    acc = TOps.Fma(TOps.Broadcast(w[ky * k + kx]), TOps.Load(rows[ky] + cols[kx] + ox), acc);
            Store<TOps, TV>(TOps.Act<TAct>(acc), dst + ox, outWidth - ox, tile);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TOps, TV>(TV acc, float* dst, int remaining, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        if (remaining >= TOps.Count) TOps.Store(dst, acc);
        else
        {
            TOps.Store(tile, acc);
            for (int i = 0; i < remaining; i++) dst[i] = tile[i];
        }
    }
}
