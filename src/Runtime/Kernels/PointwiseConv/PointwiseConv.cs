using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Kernels;

/// <summary>1x1 convolution (and the transformer's linear layers, which are the same GEMM on the channel-major layout).</summary>
public static class PointwiseConv
{
    /// <summary>Repacks a [outChannels, inChannels] weight into the layout <see cref="Run{TAct}"/> reads. Called once at load.</summary>
    public static float[] PackWeights(ReadOnlySpan<float> weight, int inChannels, int outChannels) => weight.ToArray();

    /// <summary>out[co, p] = act(bias[co] + sum_ci w[co, ci] * in[ci, p]) + residual[co, p]; residual empty for none, may alias output.</summary>
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual = default)
        where TAct : struct, IActivation
        => ReferenceKernels.PointwiseConv<TAct>(input, packedWeight, bias, output, inChannels, outChannels, pixels, residual);
}
