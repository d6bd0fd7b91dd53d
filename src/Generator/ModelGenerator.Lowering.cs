using System.Collections.Generic;
using MobileViT.Compiled.Generator.Helpers;
using MobileViT.Compiled.Generator.Lowering;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator;

public sealed partial class ModelGenerator
{
    /// <summary>
    /// Stage 2: the ordered lowering passes.
    /// 1. <see cref="NetworkBuilder"/>: architecture -> fused layer steps (BatchNorm folded, activations and
    ///    residual adds in epilogues, QKV fused, unfold/fold as index mapping) and the tensors they need.
    ///    Then <see cref="NormFusion"/>: LayerNorms read only by a 1x1 convolution move into its input packing, and
    ///    <see cref="PointwiseMerge"/>: a linear 1x1 read only by the next 1x1 is multiplied into it where that saves work;
    ///    <see cref="Quantization"/> (Precision="int8"): which convolutions run in int8.
    /// 2. <see cref="WeightValidator"/>: the weights manifest against those tensors.
    /// 3. <see cref="MemoryPlanner"/>: a fixed arena offset for every activation, and the scratch size.
    /// </summary>
    internal static NetworkPlan? Lower(ModelSpec spec, List<DiagnosticInfo> diagnostics)
    {
        NetworkBuilder network;
        List<LayerStep> steps;
        List<StageOutput> stages;
        int[] offsets;
        int arena, scratch;
        try
        {
            network = NetworkBuilder.Build(spec.Config);
            (steps, stages) = NormFusion.Fuse(network.Steps, network.Stages, network.Values);
            (steps, stages) = PointwiseMerge.Merge(steps, stages, network.Values);
            steps = Quantization.Apply(steps, stages, spec.Precision);
            if (spec.Weights is not null) WeightValidator.Validate(spec.Weights, network.Tensors, diagnostics);
            (offsets, arena, scratch) = MemoryPlanner.Plan(steps, network.Values);
        }
        catch (UnsupportedShapeException e)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ConfigValueUnsupported, spec.ConfigPath, spec.Config.ImageSizeLocation,
                "image_size", spec.Config.ImageSize, e.Message));
            return null;
        }
        return new NetworkPlan(steps.ToEquatableArray(), network.Values.ToEquatableArray(), offsets.ToEquatableArray(),
            arena, scratch, network.Tensors.ToEquatableArray(), stages.ToEquatableArray(), network.InputShape,
            network.OutputShape, network.MultiplyAccumulates, network.FeatureValue);
    }
}
