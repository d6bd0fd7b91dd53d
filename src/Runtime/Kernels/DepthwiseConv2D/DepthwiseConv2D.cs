using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Kernels.Reference;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Depthwise k x k convolution (groups = channels) with zero padding, stride 1 or 2, any dilation.
/// Per channel, the input is copied once into a zero-padded plane whose rows are split into <c>stride</c> phases
/// (phase r holds padded columns r, r + s, r + 2s, ...; stride 2 is de-interleaved with vector narrowing), so every
/// tap of every output pixel is a contiguous, in-bounds vector load: no border cases in the inner loop, no gathers.
/// The inner loop is vectorized over output columns (DwConv3x3 with the 9 weights in registers, or any k);
/// the activation runs as a second pass over each output channel.
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
        int planeRows = Math.Max(inHeight + 2 * padding, (outHeight - 1) * stride + (kernelSize - 1) * dilation + 1);
        int planeLength = planeRows * rowStride;
        int tempLength = stride == 1 ? 0 : stride * phaseLength + 2 * lanes; // one zero-padded row before de-interleaving
        int* taps = stackalloc int[kernelSize * kernelSize];
        for (int ky = 0; ky < kernelSize; ky++)
            for (int kx = 0; kx < kernelSize; kx++)
            {
                int t = kx * dilation;
                taps[ky * kernelSize + kx] = ky * dilation * rowStride + t % stride * phaseLength + t / stride;
            }

        fixed (float* pIn = input, pW = weight, pB = bias, pOut = output)
        {
            var a = new Args
            {
                Input = pIn, Weight = pW, Bias = bias.IsEmpty ? null : pB, Output = pOut, Channels = channels,
                Height = inHeight, Width = inWidth, K = kernelSize, Stride = stride, Padding = padding,
                OutHeight = outHeight, OutWidth = outWidth, PhaseLength = phaseLength, Taps = taps,
                PlaneLength = planeLength, TempLength = tempLength,
            };
            // Items are channel ranges (each channel is computed by one thread, in the same order as serially);
            // about 3 per thread so a descheduled thread's share is picked up by the others.
            int items = pool is null || pool.Threads == 1 ? 1 : Math.Min(channels, 3 * pool.Threads);
            a.Items = items;
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
        float* buffer = KernelIsa.ThreadPointer(a.PlaneLength + a.TempLength);
        // The plane (and the stride-2 row buffer) is zeroed once per item: per channel only the image footprint inside
        // it is rewritten, so the padding stays zero.
        new Span<float>(buffer, a.PlaneLength + a.TempLength).Clear();
        float* tile = stackalloc float[16];
        a.Plane = buffer;
        a.Temp = buffer + a.PlaneLength;
        a.Tile = tile;
        a.C0 = (int)((long)item * a.Channels / a.Items);
        a.C1 = (int)((long)(item + 1) * a.Channels / a.Items);
        Impl<TOps, TV, TAct>(in a);
    }

    private struct Args
    {
        public float* Input, Weight, Bias, Output, Plane, Temp, Tile;
        public int* Taps;
        public int Channels, Height, Width, K, Stride, Padding, OutHeight, OutWidth, PhaseLength;
        public int PlaneLength, TempLength, Items, C0, C1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Impl<TOps, TV, TAct>(in Args a)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int k = a.K, s = a.Stride, phaseLength = a.PhaseLength, outWidth = a.OutWidth, outHeight = a.OutHeight;
        int rowStride = s * phaseLength;
        float* plane = a.Plane;
        int* taps = a.Taps;
        for (int c = a.C0; c < a.C1; c++)
        {
            float* src = a.Input + (long)c * a.Height * a.Width;
            for (int iy = 0; iy < a.Height; iy++)
                FillRow<TOps, TV>(src + (long)iy * a.Width, a.Width, a.Padding, s, plane + (long)(iy + a.Padding) * rowStride, phaseLength, a.Temp);
            float* w = a.Weight + c * k * k;
            float b = a.Bias == null ? 0f : a.Bias[c];
            float* dst = a.Output + (long)c * outHeight * outWidth;
            for (int oy = 0; oy < outHeight; oy++)
            {
                float* rows = plane + (long)oy * s * rowStride;
                float* outRow = dst + (long)oy * outWidth;
                if (k == 3) Row3x3<TOps, TV>(rows, taps, w, b, outRow, outWidth, a.Tile);
                else RowAny<TOps, TV>(rows, taps, k * k, w, b, outRow, outWidth, a.Tile);
            }
            // The activation is a second pass over the channel (still in L2), so the tap loops keep their weights in
            // registers (exp needs many) and small maps still get whole vectors.
            if (typeof(TAct) != typeof(Identity)) Activate<TOps, TV, TAct>(dst, outHeight * outWidth);
        }
    }

    /// <summary>
    /// rows[r * phaseLength + j] = row[s * j + r - pad] where that is inside the row; the zeros around it were written
    /// when the buffer was cleared and are never overwritten.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FillRow<TOps, TV>(float* row, int width, int pad, int s, float* rows, int phaseLength, float* temp)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        if (s == 1)
        {
            Copy<TOps, TV>(row, rows + pad, Math.Min(width, phaseLength - pad));
            return;
        }
        if (s == 2)
        {
            // Zero-padded contiguous row, then split even/odd columns with vector narrowing.
            int lanes = TOps.Count;
            Copy<TOps, TV>(row, temp + pad, Math.Min(width, 2 * phaseLength - pad));
            float* odd = rows + phaseLength;
            for (int j = 0; j < phaseLength; j += lanes) TOps.Deinterleave(temp + 2 * j, rows + j, odd + j);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Activate<TOps, TV, TAct>(float* x, int n)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count;
        int i = 0;
        for (; i + lanes <= n; i += lanes) TOps.Store(x + i, TOps.Act<TAct>(TOps.Load(x + i)));
        for (; i < n; i++) x[i] = TAct.Invoke(x[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row3x3<TOps, TV>(float* buf, int* taps, float* w, float bias, float* dst, int outWidth, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        TV w0 = TOps.Broadcast(w[0]), w1 = TOps.Broadcast(w[1]), w2 = TOps.Broadcast(w[2]);
        TV w3 = TOps.Broadcast(w[3]), w4 = TOps.Broadcast(w[4]), w5 = TOps.Broadcast(w[5]);
        TV w6 = TOps.Broadcast(w[6]), w7 = TOps.Broadcast(w[7]), w8 = TOps.Broadcast(w[8]);
        TV vb = TOps.Broadcast(bias);
        float* p0 = buf + taps[0], p1 = buf + taps[1], p2 = buf + taps[2];
        float* p3 = buf + taps[3], p4 = buf + taps[4], p5 = buf + taps[5];
        float* p6 = buf + taps[6], p7 = buf + taps[7], p8 = buf + taps[8];
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
            Store<TOps, TV>(TOps.Add(acc, acc2), dst + ox, outWidth - ox, tile);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowAny<TOps, TV>(float* buf, int* taps, int kk, float* w, float bias, float* dst, int outWidth, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        for (int ox = 0; ox < outWidth; ox += lanes)
        {
            TV acc = TOps.Broadcast(bias);
            for (int t = 0; t < kk; t++) acc = TOps.Fma(TOps.Broadcast(w[t]), TOps.Load(buf + taps[t] + ox), acc);
            Store<TOps, TV>(acc, dst + ox, outWidth - ox, tile);
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
