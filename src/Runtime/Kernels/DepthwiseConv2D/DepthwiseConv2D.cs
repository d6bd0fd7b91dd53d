using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Depthwise k x k convolution (groups = channels) with zero padding, stride 1 or 2, any dilation.
/// Per output row, the k input rows it needs are copied into zero-padded row buffers split into
/// <c>stride</c> phases (phase r holds padded columns r, r + s, r + 2s, ...), so every tap of every output pixel is a
/// contiguous, in-bounds vector load: no border cases in the inner loop, stride 2 without gathers.
/// The inner loop is vectorized over output columns (DwConv3x3 with the 9 weights in registers, or any k).
/// </summary>
[SkipLocalsInit]
public static unsafe class DepthwiseConv2D
{
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int channels, int inHeight, int inWidth, int kernelSize, int stride, int padding, int dilation)
        where TAct : struct, IActivation
        => RunIsa<TAct>(input, weight, bias, output, channels, inHeight, inWidth, kernelSize, stride, padding, dilation, KernelIsa.Best);

    internal static void RunIsa<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int channels, int inHeight, int inWidth, int kernelSize, int stride, int padding, int dilation, Isa isa)
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
        int phaseLength = (outWidth + lanes - 1) / lanes * lanes + qMax;
        int bufferLength = kernelSize * stride * phaseLength;
        float* stackBuffer = stackalloc float[bufferLength <= 4096 ? bufferLength : 1];
        float[]? heap = bufferLength <= 4096 ? null : KernelIsa.ThreadBuffer(bufferLength);
        int* taps = stackalloc int[kernelSize * kernelSize];
        for (int ky = 0; ky < kernelSize; ky++)
            for (int kx = 0; kx < kernelSize; kx++)
            {
                int t = kx * dilation;
                taps[ky * kernelSize + kx] = (ky * stride + t % stride) * phaseLength + t / stride;
            }
        float* tile = stackalloc float[16];

        fixed (float* pIn = input, pW = weight, pB = bias, pOut = output, pHeap = heap)
        {
            var a = new Args
            {
                Input = pIn, Weight = pW, Bias = bias.IsEmpty ? null : pB, Output = pOut, Channels = channels,
                Height = inHeight, Width = inWidth, K = kernelSize, Stride = stride, Padding = padding, Dilation = dilation,
                OutHeight = outHeight, OutWidth = outWidth, Buffer = heap is null ? stackBuffer : pHeap,
                PhaseLength = phaseLength, Taps = taps, Tile = tile,
            };
            switch (isa)
            {
                case Isa.Vector512: Impl<Ops512, Vector512<float>, TAct>(in a); break;
                case Isa.Vector256: Impl<Ops256, Vector256<float>, TAct>(in a); break;
                case Isa.Vector128: Impl<Ops128, Vector128<float>, TAct>(in a); break;
                default: Impl<OpsScalar, float, TAct>(in a); break;
            }
        }
    }

    private struct Args
    {
        public float* Input, Weight, Bias, Output, Buffer, Tile;
        public int* Taps;
        public int Channels, Height, Width, K, Stride, Padding, Dilation, OutHeight, OutWidth, PhaseLength;
    }

    private static void Impl<TOps, TV, TAct>(in Args a)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int k = a.K, s = a.Stride, phaseLength = a.PhaseLength;
        for (int c = 0; c < a.Channels; c++)
        {
            float* src = a.Input + (long)c * a.Height * a.Width;
            float* w = a.Weight + c * k * k;
            float b = a.Bias == null ? 0f : a.Bias[c];
            for (int oy = 0; oy < a.OutHeight; oy++)
            {
                for (int ky = 0; ky < k; ky++)
                {
                    int iy = oy * s - a.Padding + ky * a.Dilation;
                    float* rows = a.Buffer + ky * s * phaseLength;
                    if ((uint)iy >= (uint)a.Height) new Span<float>(rows, s * phaseLength).Clear();
                    else FillRow(src + (long)iy * a.Width, a.Width, a.Padding, s, rows, phaseLength);
                }
                float* dst = a.Output + ((long)c * a.OutHeight + oy) * a.OutWidth;
                if (k == 3) Row3x3<TOps, TV, TAct>(a.Buffer, a.Taps, w, b, dst, a.OutWidth, a.Tile);
                else RowAny<TOps, TV, TAct>(a.Buffer, a.Taps, k * k, w, b, dst, a.OutWidth, a.Tile);
            }
        }
    }

    /// <summary>rows[r * phaseLength + j] = row[s * j + r - pad], zero outside the row.</summary>
    private static void FillRow(float* row, int width, int pad, int s, float* rows, int phaseLength)
    {
        if (s == 1)
        {
            int left = Math.Min(pad, phaseLength);
            new Span<float>(rows, left).Clear();
            int count = Math.Max(0, Math.Min(width, phaseLength - pad));
            if (count > 0) new ReadOnlySpan<float>(row, count).CopyTo(new Span<float>(rows + pad, count));
            int end = pad + count;
            if (end < phaseLength) new Span<float>(rows + end, phaseLength - end).Clear();
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

    private static void Row3x3<TOps, TV, TAct>(float* buf, int* taps, float* w, float bias, float* dst, int outWidth, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
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
            Store<TOps, TV, TAct>(TOps.Add(acc, acc2), dst + ox, outWidth - ox, tile);
        }
    }

    private static void RowAny<TOps, TV, TAct>(float* buf, int* taps, int kk, float* w, float bias, float* dst, int outWidth, float* tile)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        int lanes = TOps.Count;
        for (int ox = 0; ox < outWidth; ox += lanes)
        {
            TV acc = TOps.Broadcast(bias);
            for (int t = 0; t < kk; t++) acc = TOps.Fma(TOps.Broadcast(w[t]), TOps.Load(buf + taps[t] + ox), acc);
            Store<TOps, TV, TAct>(acc, dst + ox, outWidth - ox, tile);
        }
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
