using System.Collections.Generic;
using System.Linq;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Lowering;

/// <summary>
/// Pass 1d, for Precision="int8": which steps run in int8, and why the others stay float (said in each comment, so the
/// generated code and LayerDescriptions show it).
/// <para>
/// int8: every 1x1 convolution and transformer linear layer, and every k x k convolution but the first (the GEMMs:
/// nearly all of the model's multiply-adds and weights; a k x k one reads its input unfolded, im2col). Weights
/// per output channel, symmetric, quantized at build time; the input quantized per tensor at run time from its own
/// minimum and maximum (dynamic quantization, as ONNX Runtime's quantize_dynamic), so no calibration data is needed.
/// A norm in the input packing (LayerNorm, GroupNorm) computes its statistics in float before the quantization;
/// bias, activation and residual add are applied in float to the int32 sums.
/// </para>
/// <para>
/// float: the first convolution (it reads the raw pixels; with 3 input channels it is a small part of the work),
/// depthwise convolutions (memory-bound: 9 multiply-adds per value read), attention (softmax and its two small
/// products), norms, pooling and the classifier (one 1 x C product: its weights, not its arithmetic, are the cost).
/// </para>
/// </summary>
internal static class Quantization
{
    public static List<LayerStep> Apply(IReadOnlyList<LayerStep> steps, Precision precision)
    {
        if (precision == Precision.Fp32) return steps.ToList();
        return steps.Select(Quantize).ToList();
    }

    private const string Int8 = "; int8 (weights per output channel, input per tensor at run time)";

    private static LayerStep Quantize(LayerStep step) => step.Kind switch
    {
        OpKind.PointwiseConv => step with { Int8 = true, Comment = step.Comment + Int8 },
        // Winograd's transformed weights and inputs are not integers: int8 runs the convolution as one GEMM over the
        // unfolded input.
        OpKind.Conv2D or OpKind.WinogradConv2D when step.Input != ValueInfo.Input => step with
        {
            Kind = OpKind.Conv2D,
            Int8 = true,
            Comment = step.Comment.Replace(" (Winograd F(2x2, 3x3))", "") + Int8.Replace(")", ", unfolded)"),
        },
        _ when Reason(step) is { } reason => step with { Comment = step.Comment + "; float: " + reason },
        _ => step,
    };

    private static string? Reason(LayerStep step) => step.Kind switch
    {
        OpKind.Conv2D when step.Input == ValueInfo.Input => "the first convolution",
        OpKind.DepthwiseConv2D => "depthwise (memory-bound)",
        OpKind.PatchAttention or OpKind.SeparableAttention => "attention (softmax)",
        OpKind.LayerNorm or OpKind.GroupNorm => "norm statistics",
        OpKind.Linear => "the classifier",
        _ => null,
    };
}
