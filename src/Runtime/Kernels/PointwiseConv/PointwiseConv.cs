using System.Runtime.Intrinsics;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>1x1 convolution (and the transformer's linear layers, which are the same GEMM on the channel-major layout).</summary>
public static unsafe class PointwiseConv
{
    /// <summary>
    /// Repacks a [outChannels, inChannels] weight into the layout <see cref="Run{TAct}"/> reads. Called once at load.
    /// Layout: panels of 8 output channels, <c>packed[((co / 8) * inChannels + ci) * 8 + co % 8] = w[co, ci]</c>,
    /// zero rows past outChannels (length = ceil(outChannels / 8) * 8 * inChannels).
    /// </summary>
    public static float[] PackWeights(ReadOnlySpan<float> weight, int inChannels, int outChannels)
        => Gemm.PackWeights(weight, inChannels, outChannels);

    /// <summary>out[co, p] = act(bias[co] + sum_ci w[co, ci] * in[ci, p]) + residual[co, p]; residual empty for none, may alias output.</summary>
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual = default,
        WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunIsa<TAct>(input, packedWeight, bias, output, inChannels, outChannels, pixels, residual, KernelIsa.Best, pool: pool);

    /// <summary>The same on a chosen instruction-set path (tests run every path).</summary>
    internal static void RunIsa<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual, Isa isa,
        bool forceMr4 = false, WorkerPool? pool = null)
        where TAct : struct, IActivation
    {
        if (pixels <= 0 || outChannels <= 0) return;
        if (input.Length < inChannels * pixels) throw new ArgumentException("input too short", nameof(input));
        if (packedWeight.Length < Gemm.PackedLength(inChannels, outChannels)) throw new ArgumentException("packed weight too short (use PackWeights)", nameof(packedWeight));
        if (output.Length < outChannels * pixels) throw new ArgumentException("output too short", nameof(output));
        if (!bias.IsEmpty && bias.Length < outChannels) throw new ArgumentException("bias too short", nameof(bias));
        if (!residual.IsEmpty && residual.Length < outChannels * pixels) throw new ArgumentException("residual too short", nameof(residual));

        Span<float> panel = KernelIsa.ThreadBuffer(Gemm.PanelLength(isa, inChannels));
        fixed (float* pIn = input, pW = packedWeight, pB = bias, pOut = output, pRes = residual, pPanel = panel)
        {
            var packer = new RowMajorPacker { Input = pIn, K = inChannels, N = pixels };
            float* b = bias.IsEmpty ? null : pB;
            float* r = residual.IsEmpty ? null : pRes;
            switch (isa)
            {
                case Isa.Vector512:
                    Gemm.Run<Ops512, Vector512<float>, TAct, RowMajorPacker>(ref packer, pW, b, pOut, r, inChannels, outChannels, pixels, pPanel, forceMr4, pool);
                    break;
                case Isa.Vector256:
                    Gemm.Run<Ops256, Vector256<float>, TAct, RowMajorPacker>(ref packer, pW, b, pOut, r, inChannels, outChannels, pixels, pPanel, forceMr4, pool);
                    break;
                case Isa.Vector128:
                    Gemm.Run<Ops128, Vector128<float>, TAct, RowMajorPacker>(ref packer, pW, b, pOut, r, inChannels, outChannels, pixels, pPanel, forceMr4, pool);
                    break;
                default:
                    Gemm.Run<OpsScalar, float, TAct, RowMajorPacker>(ref packer, pW, b, pOut, r, inChannels, outChannels, pixels, pPanel, forceMr4, pool);
                    break;
            }
        }
    }
}
