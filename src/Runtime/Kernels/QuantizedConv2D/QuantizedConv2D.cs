using System.Numerics;
using System.Runtime.InteropServices;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// The int8 k x k convolution (Precision="int8": conv_kxk and fusion of each MobileViT block, DeepLabV3's ASPP): the
/// input unfolded (im2col) and quantized straight into the int8 GEMM's packed layout, each output pixel's column with its
/// own scale and zero point from the range of its receptive field (unsigned [0, 254], as
/// <see cref="QuantizedGemm.QuantizeActivations"/> quantizes a column), then one <see cref="QuantizedGemm"/> against the
/// weight [out, in * k * k] quantized per output channel at build time (<see cref="QuantizedWeights.Encode"/>).
/// out = act(scaleA[p] * scaleW[co] * (acc - zp[p] * rowSum[co]) + bias[co]).
/// <para>
/// Why not Winograd, as the float 3x3 does: its transforms turn the integers into fractions. The unfolded GEMM does
/// 2.25x the multiply-adds of F(2x2, 3x3), but each int8 instruction does 4 per lane (vpdpbusd, SDOT), and the weight
/// is 9 bytes per input-output pair instead of Winograd's 64.
/// </para>
/// </summary>
public static unsafe partial class QuantizedConv2D
{
    /// <summary>
    /// Scratch floats for one call: the zero-bordered input, C x (H + 2 pad) x (W + 2 pad), each bordered pixel's min and
    /// max over the channels (2 x (H + 2 pad) x (W + 2 pad)), then the packed unfolded input (ceil(C k k / 4) x
    /// 16-pixel-padded pixels x 4 bytes, then 2 floats per padded pixel: its scale and zero point). The generator's
    /// MemoryPlanner sizes the model's scratch with the same formula.
    /// </summary>
    public static long ScratchLength(int inChannels, int height, int width, int kernelSize, int padding, int outPixels)
        => (inChannels + 2L) * (height + 2 * padding) * (width + 2 * padding)
           + ((long)inChannels * kernelSize * kernelSize + 3) / 4 * QuantizedGemm.PaddedPixels(outPixels)
           + 2L * QuantizedGemm.PaddedPixels(outPixels);

    /// <param name="encodedWeight">The weight [out, in, k, k] as <see cref="QuantizedWeights.Encode"/> stores it, K = in * k * k.</param>
    /// <param name="scratch">At least <see cref="ScratchLength"/> floats.</param>
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> encodedWeight, ReadOnlySpan<float> bias, Span<float> output,
        int inChannels, int height, int width, int outChannels, int kernelSize, int stride, int padding, int dilation,
        Span<float> scratch, WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunPath<TAct>(input, encodedWeight, bias, output, inChannels, height, width, outChannels, kernelSize, stride, padding,
            dilation, scratch, pool, UnfoldTier != Isa.Scalar);

    /// <summary>The unfolding's width: System.Numerics.Vector, as the quantize step (<see cref="QuantizedGemm.QuantizeTier"/>).</summary>
    internal static Isa UnfoldTier => QuantizedGemm.QuantizeTier;

    /// <summary>The same with the unfolding on the vector or the scalar path (tests run both).</summary>
    internal static void RunPath<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> encodedWeight, ReadOnlySpan<float> bias, Span<float> output,
        int inChannels, int height, int width, int outChannels, int kernelSize, int stride, int padding, int dilation,
        Span<float> scratch, WorkerPool? pool, bool vector)
        where TAct : struct, IActivation
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dilation);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        int outHeight = (height + 2 * padding - dilation * (kernelSize - 1) - 1) / stride + 1;
        int outWidth = (width + 2 * padding - dilation * (kernelSize - 1) - 1) / stride + 1;
        if (outHeight <= 0 || outWidth <= 0) throw new ArgumentException("the kernel is larger than the padded input");
        int k = inChannels * kernelSize * kernelSize, n = outHeight * outWidth;
        if (input.Length < (long)inChannels * height * width) throw new ArgumentException("input too short", nameof(input));
        if (output.Length < (long)outChannels * n) throw new ArgumentException("output too short", nameof(output));
        if (!bias.IsEmpty && bias.Length < outChannels) throw new ArgumentException("bias too short", nameof(bias));
        long paddedPixels = (long)(height + 2 * padding) * (width + 2 * padding), paddedLength = inChannels * paddedPixels;
        if (scratch.Length < ScratchLength(inChannels, height, width, kernelSize, padding, n)) throw new ArgumentException("scratch too short (ScratchLength)", nameof(scratch));
        QuantizedWeights.CheckEncoded(encodedWeight, k, outChannels, nameof(encodedWeight));

        var packed = MemoryMarshal.AsBytes(scratch.Slice((int)(paddedLength + 2 * paddedPixels)))[..QuantizedGemm.PackedActivationLength(k, n)];
        fixed (float* pIn = input, pScratch = scratch, pW = encodedWeight, pBias = bias, pOut = output)
        fixed (byte* pPacked = packed)
        {
            PadInput(pIn, inChannels, height, width, padding, pScratch);
            float* pixelMin = pScratch + paddedLength, pixelMax = pixelMin + paddedPixels;
            ChannelRanges(pScratch, inChannels, (int)paddedPixels, pixelMin, pixelMax, vector);
            var job = new UnfoldJob
            {
                Padded = pScratch, PaddedHeight = height + 2 * padding, PaddedWidth = width + 2 * padding, Kernel = kernelSize,
                Stride = stride, Dilation = dilation, K = k, OutHeight = outHeight, OutWidth = outWidth, Packed = pPacked, Vector = vector,
            };
            job.Inverse = pixelMin; // the ranges are read before it is written (WindowParameters)
            WindowParameters(ref job, pixelMin, pixelMax);
            int quads = (k + 3) / 4;
            job.Items = pool is null || pool.Threads == 1 ? 1 : Math.Min(quads, 4 * pool.Threads);
            if (job.Items == 1) UnfoldItem(&job, 0, 0);
            else pool!.For(job.Items, &UnfoldItem, &job);
            var weights = QuantizedWeightsView.Encoded(pW, k, outChannels);
            QuantizedGemm.RunPointers<TAct>(QuantizedGemm.Best, pPacked, weights, bias.IsEmpty ? null : pBias, pOut, n,
                residual: null, raw: false, pool);
        }
    }

    private struct UnfoldJob
    {
        public float* Padded, Inverse;
        public byte* Packed;
        public int PaddedHeight, PaddedWidth, Kernel, Stride, Dilation, K, OutHeight, OutWidth, Items;
        public bool Vector;
    }

    /// <summary>One contiguous range of k-quads: every thread writes its own cache lines of the packed input.</summary>
    private static void UnfoldItem(void* state, int item, int thread)
    {
        var j = (UnfoldJob*)state;
        int quads = (j->K + 3) / 4;
        int first = (int)((long)quads * item / j->Items), last = (int)((long)quads * (item + 1) / j->Items);
        PackUnfolded(j->Padded, j->PaddedHeight, j->PaddedWidth, j->Kernel, j->Stride, j->Dilation, j->K, j->OutHeight,
            j->OutWidth, j->Packed, j->Inverse, j->Vector, first, last);
    }
}
