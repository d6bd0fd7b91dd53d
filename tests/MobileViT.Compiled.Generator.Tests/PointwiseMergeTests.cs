using System.Text.Json.Nodes;
using MobileViT.Compiled.Generator.Helpers;
using MobileViT.Compiled.Generator.Lowering;
using MobileViT.Compiled.Generator.Model;
using MobileViT.Compiled.Generator.Parsing;

namespace MobileViT.Compiled.Generator.Tests;

/// <summary>Which linear 1x1 convolutions the lowering multiplies into the next 1x1, and what stays for a stage observer.</summary>
public class PointwiseMergeTests
{
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.75)]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void MobileViTV2MultipliesThreeLinear1x1sIntoTheExpandAfterThem(double widthMultiplier)
    {
        var (steps, stages, _) = Lower("mobilevitv2-0.5", c => c["width_multiplier"] = widthMultiplier);

        var merged = steps.Where(s => s.MergedFirst is not null).ToList();
        Assert.Equal(3, merged.Count);
        (string First, string Second, int Stage)[] expected =
        [
            ("layer.0.layer.0.reduce_1x1", "layer.1.layer.0.expand_1x1", 0),
            ("layer.2.conv_projection", "layer.3.downsampling_layer.expand_1x1", 2),
            ("layer.3.conv_projection", "layer.4.downsampling_layer.expand_1x1", 3),
        ];
        foreach (var (step, (firstName, secondName, stage)) in merged.Zip(expected))
        {
            var first = step.MergedFirst!;
            Assert.StartsWith($"mobilevitv2.encoder.{secondName}:", step.Comment);
            Assert.StartsWith($"mobilevitv2.encoder.{firstName}:", first.Comment);
            // It reads what the first read, normalized as the first normalized it, and does K x E multiply-adds per pixel.
            Assert.Equal(first.Input, step.Input);
            Assert.Equal(first.InShape, step.InShape);
            Assert.Equal(first.NormTensors, step.NormTensors);
            Assert.Equal(first.NormalizesInput, stage > 0); // the conv_projections read the block's GroupNorm
            if (step.NormalizesInput) Assert.Equal(OpKind.GroupNorm, step.NormKind);
            Assert.Equal((long)first.InShape.Channels * step.OutShape.Channels * step.OutShape.Pixels, step.MultiplyAccumulates);

            // The first's output is a hidden state: the step stays just before, for a stage observer only, and nothing else reads it.
            var observed = steps[step.Index - 1];
            Assert.True(observed.ObserverOnly);
            Assert.Equal(first.Output, observed.Output);
            Assert.Contains(stages, st => st.Stage == stage && st.Value == observed.Output && st.AfterStep == observed.Index);
            Assert.DoesNotContain(steps, s => s.Input == observed.Output || s.Residual == observed.Output);
        }
        Assert.Equal(3, steps.Count(s => s.ObserverOnly));
        Assert.Equal(Enumerable.Range(0, steps.Count), steps.Select(s => s.Index));
    }

    [Theory]
    [InlineData("mobilevit-xx-small")]              // the first block's reduce feeds a residual add
    [InlineData("mobilevit-x-small")]               // 64->32->128: one 64->128 would do more multiply-adds
    [InlineData("mobilevit-small")]
    [InlineData("mobilevit-xx-small-fashion")]
    [InlineData("deeplabv3-mobilevit-xx-small")]
    public void MobileViTKeepsEveryLayer(string model)
    {
        var (steps, _, _) = Lower(model);
        Assert.DoesNotContain(steps, s => s.MergedFirst is not null || s.ObserverOnly);
    }

    [Fact]
    public void AnUnobservedLinear1x1IsRemovedAndTheStepsRenumbered()
    {
        // 0: conv 8->16 (linear), 1: conv 16->32 (SiLU), 2: conv 32->8; stage 0 is step 2's output.
        var steps = new[] { Pointwise(0, 2, 3, 8, 16), Pointwise(1, 3, 4, 16, 32, "Silu"), Pointwise(2, 4, 1, 32, 8) };
        var (merged, stages) = PointwiseMerge.Merge(steps, [new StageOutput(2, 0, 1)], Values(5));

        Assert.Equal(2, merged.Count);
        Assert.Equal([0, 1], merged.Select(s => s.Index));
        Assert.Same(steps[0], merged[0].MergedFirst);
        Assert.Equal(2, merged[0].Input);
        Assert.Equal(8, merged[0].InShape.Channels);
        Assert.Equal("Silu", merged[0].Activation);
        Assert.Equal(new StageOutput(1, 0, 1), Assert.Single(stages));
    }

    [Fact]
    public void ANormInTheFirstsPackingMovesToTheMergedStep()
    {
        var norm = new[] { "g", "b" }.ToEquatableArray();
        var steps = new[] { Pointwise(0, 2, 3, 8, 16) with { NormTensors = norm, NormKind = OpKind.GroupNorm, Epsilon = 1e-5 }, Pointwise(1, 3, 1, 16, 32) };
        var merged = Assert.Single(PointwiseMerge.Merge(steps, [], Values(4)).Steps);
        Assert.Equal(norm, merged.NormTensors);
        Assert.Equal(OpKind.GroupNorm, merged.NormKind);
        Assert.Equal(1e-5, merged.Epsilon);
    }

    [Fact]
    public void OnlyWhereItSavesMultiplyAdds()
    {
        // 8->4->16: 8 x 16 = 128 > 8 x 4 + 4 x 16 = 96 multiply-adds per pixel.
        var steps = new[] { Pointwise(0, 2, 3, 8, 4), Pointwise(1, 3, 1, 4, 16) };
        Assert.Equal(steps, PointwiseMerge.Merge(steps, [], Values(4)).Steps);
    }

    [Fact]
    public void NotAcrossAnActivationAResidualASecondReaderOrANorm()
    {
        var activated = new[] { Pointwise(0, 2, 3, 16, 16, "Silu"), Pointwise(1, 3, 1, 16, 32) };
        var residual = new[] { Pointwise(0, 2, 3, 16, 16) with { Residual = 2 }, Pointwise(1, 3, 1, 16, 32) };
        var twoReaders = new[] { Pointwise(0, 2, 3, 16, 16), Pointwise(1, 3, 4, 16, 32, "Silu"), Pointwise(2, 4, 1, 32, 16) with { Residual = 3 } };
        var readAsResidual = new[] { Pointwise(0, 2, 3, 16, 16), Pointwise(1, 2, 1, 16, 16) with { Residual = 3 } };
        var normalized = new[] { Pointwise(0, 2, 3, 16, 16), Pointwise(1, 3, 1, 16, 32) with { NormTensors = new[] { "g", "b" }.ToEquatableArray() } };
        var depthwise = new[] { Pointwise(0, 2, 3, 16, 16) with { Kind = OpKind.DepthwiseConv2D }, Pointwise(1, 3, 1, 16, 32) };
        var networkOutput = new[] { Pointwise(0, 2, 1, 16, 16), Pointwise(1, 1, 3, 16, 32) };
        foreach (var steps in new[] { activated, residual, twoReaders, readAsResidual, normalized, depthwise, networkOutput })
            Assert.Equal(steps, PointwiseMerge.Merge(steps, [], Values(5)).Steps);
    }

    [Fact]
    public void TheWeightRecipeMultipliesAtPreparationAndRunsTheObservedStepOnlyForAnObserver()
    {
        var source = GeneratorHarness.Run(ModelFolder.Fixture("mobilevitv2-0.5")).Sources.Single().Source;
        var lines = source.Split('\n');
        // Recipe lines (prepared at build time and by Load): the first 1x1 (32 -> 32) merged into the next (32 -> 64).
        Assert.Equal(3, lines.Count(l => l.Contains(" conv pointwise ") && l.Contains(" merge ")));
        Assert.Contains(lines, l => l.StartsWith("layer1_0_expand conv pointwise 32 64 1 merge 32 bn ", StringComparison.Ordinal));
        var observed = lines.Where(l => l.Contains("if (observer is not null) Kernels.PointwiseConv.Run")).ToList();
        Assert.Equal(3, observed.Count);
        Assert.Contains("32, 32, 16384", observed[0]);
        Assert.Contains("RunGroupNormed", observed[1]);
        // The merged conv_projection -> expand: GroupNorm over 64 channels in front of one 64->256 1x1.
        Assert.Contains(lines, l => l.Contains("PointwiseConv.RunGroupNormed<Kernels.Silu>(") && l.Contains(", 64, 256, 1024, default,"));
    }

    private static LayerStep Pointwise(int index, int input, int output, int inC, int outC, string activation = "Identity")
        => new(index, OpKind.PointwiseConv, $"layer{index}: conv 1x1 {inC}->{outC}", "f" + index, WeightKind.Plain,
            new[] { $"w{index}" }.ToEquatableArray(), input, -1, output, new Shape(inC, 4, 4), new Shape(outC, 4, 4), 1, 1, 0, 1,
            activation, 0, 0, 0, (long)inC * outC * 16);

    private static List<ValueInfo> Values(int count) => Enumerable.Range(0, count).Select(i => new ValueInfo(i, new Shape(1, 4, 4), "v" + i, -1, 0)).ToList();

    private static (List<LayerStep> Steps, List<StageOutput> Stages, IReadOnlyList<ValueInfo> Values) Lower(string model, Action<System.Text.Json.Nodes.JsonObject>? edit = null)
    {
        var config = JsonNode.Parse(ModelFolder.Fixture(model).ConfigText!)!.AsObject();
        edit?.Invoke(config);
        var diagnostics = new List<DiagnosticInfo>();
        var parsed = ConfigParser.Parse("config.json", config.ToJsonString(), diagnostics);
        Assert.Empty(diagnostics);
        var network = NetworkBuilder.Build(parsed!);
        var (steps, stages) = NormFusion.Fuse(network.Steps, network.Stages, network.Values);
        (steps, stages) = PointwiseMerge.Merge(steps, stages, network.Values);
        return (steps, stages, network.Values);
    }
}
