using System.Collections.Generic;
using System.Linq;
using MobileViT.Compiled.Generator.Helpers;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Lowering;

/// <summary>
/// Pass 1b: a LayerNorm, or MobileViTV2's single-group GroupNorm, whose only reader is a 1x1 convolution or linear
/// layer (the norms of every pre-norm transformer layer, and the one before the fold) becomes part of that step: the
/// GEMM normalizes each block of its input while packing it (PointwiseConv.RunLayerNormed / RunGroupNormed; the
/// GroupNorm's mean and variance take a reading pass first), so the normalized map is never stored. Its output value
/// is left unused, and the memory planner gives it no space. Stage outputs and the network output are never fused away.
/// </summary>
internal static class NormFusion
{
    private const int MaxGroupNormedChannels = 4096;

    public static (List<LayerStep> Steps, List<StageOutput> Stages) Fuse(IReadOnlyList<LayerStep> steps, IReadOnlyList<StageOutput> stages,
        IReadOnlyList<ValueInfo> values)
    {
        var removed = new HashSet<int>();
        var replaced = new Dictionary<int, LayerStep>();
        foreach (var norm in steps.Where(s => s.Kind == OpKind.LayerNorm || s.Kind == OpKind.GroupNorm))
        {
            // The fused GroupNorm keeps its per-channel scales on the stack (PointwiseConv.MaxGroupNormedChannels).
            if (norm.Kind == OpKind.GroupNorm && norm.InShape.Channels > MaxGroupNormedChannels) continue;
            if (norm.Output == ValueInfo.Output || stages.Any(st => st.Value == norm.Output) || values.Any(v => v.Parent == norm.Output)) continue;
            var readers = steps.Where(s => s.Input == norm.Output || s.Residual == norm.Output).ToList();
            if (readers.Count != 1) continue;
            var gemm = replaced.TryGetValue(readers[0].Index, out var r) ? r : readers[0];
            if (gemm.Kind != OpKind.PointwiseConv || gemm.Input != norm.Output || gemm.Residual == norm.Output || gemm.NormalizesInput) continue;
            string module = norm.Comment.Substring(0, norm.Comment.IndexOf(':'));
            string name = module.Substring(module.LastIndexOf('.') + 1);
            replaced[gemm.Index] = gemm with
            {
                Input = norm.Input,
                InShape = norm.InShape,
                NormTensors = norm.Tensors,
                NormKind = norm.Kind,
                Epsilon = norm.Epsilon,
                Comment = norm.Kind == OpKind.GroupNorm
                    ? $"{gemm.Comment}, input normalized by {name} (GroupNorm, 1 group over {norm.InShape}, in the GEMM's packing)"
                    : $"{gemm.Comment}, input normalized by {name} (LayerNorm over {norm.InShape.Channels} channels, in the GEMM's packing)",
            };
            removed.Add(norm.Index);
        }

        // A stage is reported after the step that produced it, which is never a fused-away LayerNorm.
        return StepRenumbering.Renumber(
            steps.Where(step => !removed.Contains(step.Index)).Select(step => replaced.TryGetValue(step.Index, out var s) ? s : step), stages);
    }
}
