using System.Collections.Generic;
using System.Linq;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Lowering;

/// <summary>
/// Pass 1d, for Precision="int8": which steps run in int8, and why the others stay float (said in each comment, so the
/// generated code and LayerDescriptions show it).
/// <para>
/// int8: from the third encoder stage on, every 1x1 convolution and transformer linear layer and every k x k
/// convolution (the GEMMs: nearly all of the model's weights; a k x k one reads its input unfolded, im2col), and the
/// classifier (the 1x1 kernel on one pixel; its weights are a third of mobilevit-small's and half of XXS's). Weights
/// per output channel, symmetric, quantized at build time; the input quantized per pixel at run time from that pixel's
/// own minimum and maximum (dynamic quantization, as ONNX Runtime's quantize_dynamic does per tensor), so no
/// calibration data is needed.
/// A norm in the input packing (LayerNorm, GroupNorm) computes its statistics in float before the quantization;
/// bias, activation and residual add are applied in float to the int32 sums.
/// </para>
/// <para>
/// float: every layer of the first two encoder stages (the MobileNetV2 blocks at 1/2 and 1/4 of the input size: the
/// error quantization adds there grows through every later layer; measured on the fixtures, keeping them float took the
/// worst ImageNet logit error, relative to the largest logit, from 12.4 % to 7.0 %, and the Fashion-MNIST model's
/// agreement with fp32 from 98.8 % to 99.4 %; it costs little time, as those layers have few channels), the first
/// convolution (it reads the raw pixels; with 3 input channels it is a small part of the work),
/// depthwise convolutions (memory-bound: 9 multiply-adds per value read), attention (softmax and its two small
/// products), norms and pooling.
/// </para>
/// </summary>
internal static class Quantization
{
    /// <summary>The encoder stages (0, 1, ...) whose layers all stay float.</summary>
    internal const int FloatStages = 2;

    public static List<LayerStep> Apply(IReadOnlyList<LayerStep> steps, IReadOnlyList<StageOutput> stages, Precision precision)
    {
        if (precision == Precision.Fp32) return steps.ToList();
        var lastFloat = stages.Where(s => s.Stage == FloatStages - 1).Select(s => (int?)s.AfterStep).FirstOrDefault() ?? -1;
        return steps.Select(step => step.Index <= lastFloat ? Early(step) : Quantize(step)).ToList();
    }

    private static LayerStep Early(LayerStep step) => step.Kind switch
    {
        OpKind.PointwiseConv or OpKind.Conv2D or OpKind.WinogradConv2D when step.Input != ValueInfo.Input
            => step with { Comment = step.Comment + "; float: the first two stages" },
        _ => Quantize(step),
    };

    private const string Int8 = "; int8 (weights per output channel, input per pixel at run time)";

    private static LayerStep Quantize(LayerStep step) => step.Kind switch
    {
        OpKind.PointwiseConv => step with { Int8 = true, Comment = step.Comment + Int8 },
        // The classifier, a 1 x C product, is the int8 1x1 kernel on one pixel: in float it was half of XXS's int8 weights.
        OpKind.Linear => step with { Kind = OpKind.PointwiseConv, Int8 = true, Comment = step.Comment + Int8 },
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
        _ => null,
    };
}
