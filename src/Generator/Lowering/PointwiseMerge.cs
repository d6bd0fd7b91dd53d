using System;
using System.Collections.Generic;
using System.Linq;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Lowering;

/// <summary>
/// Pass 1c: a linear 1x1 convolution (no activation or residual) whose only reader is the next 1x1 convolution's input
/// is multiplied into that convolution at load time: W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2), computed in double
/// precision; a norm in the first one's input packing stays in front. Only where it saves work: K x E multiply-adds
/// per pixel instead of K x M + M x E. In MobileViTV2: the first block's reduce into the next block's expand
/// (32->32->64 as 32->64), and each MobileViTV2 block's conv_projection into the next stage's expand (64->128->256 as
/// 64->256, 96->192->384 as 96->384).
/// The result differs from the two steps only by rounding. When the first convolution's output is a stage output, the
/// step stays, but runs only for a stage observer (it is what hidden_states reports); nothing else reads it.
/// </summary>
internal static class PointwiseMerge
{
    public static (List<LayerStep> Steps, List<StageOutput> Stages) Merge(IReadOnlyList<LayerStep> steps, IReadOnlyList<StageOutput> stages,
        IReadOnlyList<ValueInfo> values)
    {
        var result = steps.ToList();
        for (int i = 0; i + 1 < result.Count; i++)
        {
            var first = result[i];
            if (!IsLinearPointwise(first) || first.Output == ValueInfo.Output || values.Any(v => v.Parent == first.Output)) continue;
            var readers = result.Where(s => s.Input == first.Output || s.Residual == first.Output).ToList();
            if (readers.Count != 1) continue;
            var second = readers[0];
            if (second.Kind != OpKind.PointwiseConv || second.Input != first.Output || second.Residual == first.Output
                || second.NormalizesInput || second.MergedFirst is not null || !HasConvWeights(second)) continue;
            long k = first.InShape.Channels, m = first.OutShape.Channels, e = second.OutShape.Channels;
            if (k * e >= k * m + m * e) continue;

            int at = result.IndexOf(second);
            long pixels = second.OutShape.Pixels;
            // A norm fused into the first's input packing (MobileViTV2's conv_projection) moves along with it.
            int normText = first.Comment.IndexOf(", input normalized by", StringComparison.Ordinal);
            string norm = first.NormalizesInput && normText >= 0 ? first.Comment.Substring(normText) : "";
            result[at] = second with
            {
                Input = first.Input,
                InShape = first.InShape,
                MergedFirst = first,
                NormTensors = first.NormTensors,
                NormKind = first.NormKind,
                Epsilon = first.Epsilon,
                MultiplyAccumulates = k * e * pixels,
                Comment = $"{second.Comment} ({Module(first)} multiplied in at load time: {k}->{m}->{e} as one {k}->{e}){norm}",
            };
            bool observed = stages.Any(st => st.Value == first.Output);
            if (observed)
                result[i] = first with
                {
                    ObserverOnly = true,
                    Comment = $"{first.Comment} (only for a stage observer: the next 1x1 has it multiplied in)",
                };
            else
                result.RemoveAt(i--);
        }
        // A stage follows the step that produced its value, which is never removed (observed ones stay).
        return StepRenumbering.Renumber(result, stages);
    }

    private static bool IsLinearPointwise(LayerStep s)
        => s.Kind == OpKind.PointwiseConv && s.Activation == "Identity" && s.Residual < 0
           && s.MergedFirst is null && !s.ObserverOnly && HasConvWeights(s);

    private static bool HasConvWeights(LayerStep s) => s.Weights == WeightKind.ConvBatchNorm || s.Weights == WeightKind.Plain;

    private static string Module(LayerStep s) => s.Comment.Substring(0, s.Comment.IndexOf(':'));
}
