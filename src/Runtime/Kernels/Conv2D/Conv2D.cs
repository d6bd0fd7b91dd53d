using System.Runtime.Intrinsics;
using MobileViT.Compiled.Kernels.Reference;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Dense k x k convolution with zero padding (the stem, the MobileViT block's local and fusion convolutions).
/// Implemented as the PointwiseConv GEMM with K = inChannels * k * k, whose input panels are im2col'ed directly
/// from the image one block of output pixels at a time (no full im2col matrix is built); convolutions with at most
/// 32 taps (the stem) run as a direct kernel instead (<see cref="DirectConv"/>).
/// </summary>
public static unsafe class Conv2D
{
    /// <summary>Scratch floats <see cref="Run{TAct}"/> needs: inChannels * k * k * outHeight * outWidth (the generator uses the same formula).</summary>
    public static int ScratchLength(int inChannels, int kernelSize, int outHeight, int outWidth)
        => inChannels * kernelSize * kernelSize * outHeight * outWidth;

    /// <summary>
    /// Repacks a [outC, inC, k, k] weight into the layout <see cref="Run{TAct}"/> reads. Called once at load.
    /// Layout: the [outC, K = inC * k * k] matrix in PointwiseConv's 8-row panels:
    /// <c>packed[((co / 8) * K + (ci * k + ky) * k + kx) * 8 + co % 8] = w[co, ci, ky, kx]</c>, zero rows past outC.
    /// </summary>
    public static float[] PackWeights(ReadOnlySpan<float> weight, int inChannels, int outChannels, int kernelSize)
        => Gemm.PackWeights(weight, inChannels * kernelSize * kernelSize, outChannels);

    /// <param name="scratch">Used for the im2col panel (k * 3 vectors of floats) when long enough; may be empty.</param>
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int inHeight, int inWidth, int outChannels,
        int kernelSize, int stride, int padding, int dilation, Span<float> scratch, WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunIsa<TAct>(input, packedWeight, bias, output, inChannels, inHeight, inWidth, outChannels,
            kernelSize, stride, padding, dilation, scratch, KernelIsa.Best, pool);

    private static bool RowConv3x3Applies(int kernelSize, int stride, int outWidth, Isa isa) => isa switch
    {
        Isa.Vector512 => RowConv3x3.Applies<Ops512, Vector512<float>>(kernelSize, stride, outWidth),
        Isa.Vector256 => RowConv3x3.Applies<Ops256, Vector256<float>>(kernelSize, stride, outWidth),
        Isa.Vector128 => RowConv3x3.Applies<Ops128, Vector128<float>>(kernelSize, stride, outWidth),
        _ => false,
    };

    internal static void RunIsa<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int inHeight, int inWidth, int outChannels,
        int kernelSize, int stride, int padding, int dilation, Span<float> scratch, Isa isa,
        WorkerPool? pool = null)
        where TAct : struct, IActivation
    {
        int outHeight = ReferenceKernels.ConvOutputSize(inHeight, kernelSize, stride, padding, dilation);
        int outWidth = ReferenceKernels.ConvOutputSize(inWidth, kernelSize, stride, padding, dilation);
        int k = inChannels * kernelSize * kernelSize;
        int n = outHeight * outWidth;
        if (n <= 0 || outChannels <= 0) return;
        if (stride < 1 || dilation < 1) throw new ArgumentOutOfRangeException(nameof(stride));
        if (input.Length < inChannels * inHeight * inWidth) throw new ArgumentException("input too short", nameof(input));
        if (packedWeight.Length < Gemm.PackedLength(k, outChannels)) throw new ArgumentException("packed weight too short (use PackWeights)", nameof(packedWeight));
        if (output.Length < outChannels * n) throw new ArgumentException("output too short", nameof(output));
        if (!bias.IsEmpty && bias.Length < outChannels) throw new ArgumentException("bias too short", nameof(bias));

        int panelLength = Gemm.PanelLength(isa, k);
        Span<float> panel = scratch.Length >= panelLength ? scratch : KernelIsa.ThreadBuffer(panelLength);
        fixed (float* pIn = input, pW = packedWeight, pB = bias, pOut = output, pPanel = panel)
        {
            var packer = new Im2ColPacker
            {
                Input = pIn, Channels = inChannels, Height = inHeight, Width = inWidth, KernelSize = kernelSize,
                Stride = stride, Padding = padding, Dilation = dilation, OutWidth = outWidth,
            };
            float* b = bias.IsEmpty ? null : pB;
            if (DirectConv.Applies(inChannels, kernelSize, outWidth, isa))
            {
                switch (isa)
                {
                    case Isa.Vector512: DirectConv.Run<Ops512, Vector512<float>, TAct>(packer, pW, b, pOut, outChannels, outHeight, pool); break;
                    case Isa.Vector256: DirectConv.Run<Ops256, Vector256<float>, TAct>(packer, pW, b, pOut, outChannels, outHeight, pool); break;
                    case Isa.Vector128: DirectConv.Run<Ops128, Vector128<float>, TAct>(packer, pW, b, pOut, outChannels, outHeight, pool); break;
                    default: DirectConv.Run<OpsScalar, float, TAct>(packer, pW, b, pOut, outChannels, outHeight, pool); break;
                }
                return;
            }
            // Rows of at most one vector, in the narrowest vectors that hold them (8-wide rows take 8 lanes, 4-wide
            // rows 4, also on the 16-lane path); maps of 4 pixels or fewer stay with the GEMM, which vectorizes them
            // over output channels instead.
            if (n > 4 && isa != Isa.Scalar)
            {
                if (outWidth <= 4 && PaddedConv3x3.Applies<Ops128, Vector128<float>>(kernelSize, stride, outWidth))
                {
                    PaddedConv3x3.Run<Ops128, Vector128<float>, TAct>(pIn, pW, b, pOut, inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, padding, dilation, pool);
                    return;
                }
                if (isa != Isa.Vector128 && outWidth <= 8 && PaddedConv3x3.Applies<Ops256, Vector256<float>>(kernelSize, stride, outWidth))
                {
                    PaddedConv3x3.Run<Ops256, Vector256<float>, TAct>(pIn, pW, b, pOut, inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, padding, dilation, pool);
                    return;
                }
                if (isa == Isa.Vector512 && PaddedConv3x3.Applies<Ops512, Vector512<float>>(kernelSize, stride, outWidth))
                {
                    PaddedConv3x3.Run<Ops512, Vector512<float>, TAct>(pIn, pW, b, pOut, inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, padding, dilation, pool);
                    return;
                }
            }
            if (RowConv3x3Applies(kernelSize, stride, outWidth, isa))
            {
                switch (isa)
                {
                    case Isa.Vector512: RowConv3x3.Run<Ops512, Vector512<float>, TAct>(pIn, pW, b, pOut, inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, padding, dilation, pool); break;
                    case Isa.Vector256: RowConv3x3.Run<Ops256, Vector256<float>, TAct>(pIn, pW, b, pOut, inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, padding, dilation, pool); break;
                    default: RowConv3x3.Run<Ops128, Vector128<float>, TAct>(pIn, pW, b, pOut, inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, padding, dilation, pool); break;
                }
                return;
            }
            switch (isa)
            {
                case Isa.Vector512:
                    Gemm.Run<Ops512, Vector512<float>, TAct, Im2ColPacker>(ref packer, pW, b, pOut, null, k, outChannels, n, pPanel, pool: pool);
                    break;
                case Isa.Vector256:
                    Gemm.Run<Ops256, Vector256<float>, TAct, Im2ColPacker>(ref packer, pW, b, pOut, null, k, outChannels, n, pPanel, pool: pool);
                    break;
                case Isa.Vector128:
                    Gemm.Run<Ops128, Vector128<float>, TAct, Im2ColPacker>(ref packer, pW, b, pOut, null, k, outChannels, n, pPanel, pool: pool);
                    break;
                default:
                    Gemm.Run<OpsScalar, float, TAct, Im2ColPacker>(ref packer, pW, b, pOut, null, k, outChannels, n, pPanel, pool: pool);
                    break;
            }
        }
    }
}
