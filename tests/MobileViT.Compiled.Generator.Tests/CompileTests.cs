using Microsoft.CodeAnalysis;

namespace MobileViT.Compiled.Generator.Tests;

/// <summary>The generated source for every fixture model compiles with no errors or warnings against the runtime.</summary>
public class CompileTests
{
    [Theory]
    [InlineData("mobilevit-xx-small")]
    [InlineData("mobilevit-x-small")]
    [InlineData("mobilevit-small")]
    [InlineData("mobilevit-xx-small-fashion")]
    [InlineData("deeplabv3-mobilevit-xx-small")]
    [InlineData("mobilevitv2-0.5")]
    public void GeneratedSourceCompilesCleanly(string model)
    {
        var result = GeneratorHarness.Run(ModelFolder.Fixture(model));
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Single(result.Sources);
        var problems = result.CompileDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
    }
}

/// <summary>A backbone alone (architectures ["MobileViTModel"] / ["MobileViTV2Model"]) compiles into a feature extractor: RunFeatures, no Run.</summary>
public class HeadlessTests
{
    [Theory]
    [InlineData("mobilevit-xx-small", "MobileViTModel", "mobilevit.", 320)]
    [InlineData("mobilevitv2-0.5", "MobileViTV2Model", "mobilevitv2.", 256)]
    public void BackboneCompilesIntoAFeatureExtractor(string model, string architecture, string prefix, int featureLength)
    {
        var fixture = ModelFolder.Fixture(model, "MobileViTBackbone");
        var config = System.Text.Json.Nodes.JsonNode.Parse(fixture.ConfigText!)!.AsObject();
        config["architectures"] = new System.Text.Json.Nodes.JsonArray(architecture);
        byte[] weights = Testing.HeadlessCheckpoint.FromClassifier(File.ReadAllBytes(Path.Combine(ModelFolder.FixtureDirectory(model), "model.safetensors")), prefix);
        var result = GeneratorHarness.Run(fixture with { ConfigText = config.ToJsonString(), ManifestText = ModelFolder.ManifestFor(weights, fixture.Directory + "/model.safetensors") });

        Assert.Empty(result.GeneratorDiagnostics);
        var problems = result.CompileDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
        var source = result.Sources.Single().Source;
        Assert.Contains("public sealed partial class MobileViTBackbone : global::MobileViT.Compiled.IFeatureExtractor", source);
        Assert.Contains($"public const int FeatureLength = {featureLength};", source);
        Assert.Contains("public void RunFeatures(", source);
        Assert.DoesNotContain("public void Run(", source);
        Assert.DoesNotContain("classifier", source);
        Assert.DoesNotContain($"\"{prefix}", source); // the backbone's own tensor names
    }

    [Fact]
    public void ClassifierIsAlsoAFeatureExtractor()
    {
        var source = GeneratorHarness.Run(ModelFolder.Fixture("mobilevit-small", "Small")).Sources.Single().Source;
        Assert.Contains("public sealed partial class Small : global::MobileViT.Compiled.ICompiledModel, global::MobileViT.Compiled.IFeatureExtractor", source);
        Assert.Contains("public const int FeatureLength = 640;", source);
    }
}

public class ResolutionTests
{
    /// <summary>Any image_size compiles: maps that are not a multiple of the patch size are resized around the transformer.</summary>
    [Theory]
    [InlineData(224, 2)]  // 7x7 at the last stage -> resized to 8x8 and back
    [InlineData(100, 4)]  // stages 50, 50, 25, 13 (up to 14), 7 (up to 8), 4: two blocks resize, twice each
    [InlineData(64, 0)]
    [InlineData(33, 4)]   // 17, 17, 9, 5 (6), 3 (4), 2
    public void AnyImageSizeCompiles(int imageSize, int resizeSteps)
    {
        var fixture = ModelFolder.Fixture("mobilevit-xx-small-fashion");
        var config = System.Text.Json.Nodes.JsonNode.Parse(fixture.ConfigText!)!.AsObject();
        config["image_size"] = imageSize;
        var result = GeneratorHarness.Run(fixture with { ConfigText = config.ToJsonString() });
        Assert.Empty(result.GeneratorDiagnostics);
        var problems = result.CompileDiagnostics.Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
        var source = result.Sources.Single().Source;
        Assert.Contains($"InputHeight = {imageSize}", source);
        Assert.Equal(resizeSteps, source.Split('\n').Count(l => l.Contains("Kernels.ResizeBilinear.Run(")));
    }
}

public class WidthMultiplierTests
{
    /// <summary>MobileViTV2 at sizes whose maps are not patch multiples: unfold drops the remainder, fold pads zeros.</summary>
    [Theory]
    [InlineData(224, 1)] // 7x7 at the last stage
    [InlineData(200, 3)] // 25, 13 and 7 at the three V2 blocks: all crop
    public void OddSizesCropAndPad(int imageSize, int expectedCrops)
    {
        var fixture = ModelFolder.Fixture("mobilevitv2-0.5");
        var config = System.Text.Json.Nodes.JsonNode.Parse(fixture.ConfigText!)!.AsObject();
        config["image_size"] = imageSize;
        var result = GeneratorHarness.Run(fixture with { ConfigText = config.ToJsonString() });
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompileDiagnostics.Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning));
        var source = result.Sources.Single().Source;
        int crops = source.Split('\n').Count(l => l.Contains("Kernels.CropPad.Crop("));
        Assert.Equal(expectedCrops, crops);
        Assert.Equal(crops, source.Split('\n').Count(l => l.Contains("Kernels.CropPad.Pad(")));
    }

    /// <summary>Any MobileViTV2 width_multiplier compiles (the fixture's weights are for 0.5, so only the code is checked).</summary>
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.75)]
    [InlineData(1.0)]
    [InlineData(1.25)]
    [InlineData(2.0)]
    public void AnyWidthMultiplierCompiles(double widthMultiplier)
    {
        var fixture = ModelFolder.Fixture("mobilevitv2-0.5");
        var config = System.Text.Json.Nodes.JsonNode.Parse(fixture.ConfigText!)!.AsObject();
        config["width_multiplier"] = widthMultiplier;
        var result = GeneratorHarness.Run(fixture with { ConfigText = config.ToJsonString(), ManifestText = null });
        Assert.Empty(result.GeneratorDiagnostics);
        var problems = result.CompileDiagnostics.Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
        int expectedLast = (int)(512 * widthMultiplier + 4) / 8 * 8;
        Assert.Contains($"classifier.weight\", 1000, {expectedLast})", result.Sources.Single().Source);
    }
}

public class OutputStrideTests
{
    /// <summary>
    /// DeepLabV3's output_stride 8 and 16 keep the last stages' resolution (stride-1 downsampling blocks, the
    /// last one's depthwise conv dilated for 8); 32 is the plain backbone. The weights are the same for all three.
    /// </summary>
    [Theory]
    [InlineData(32, 16, "")]
    [InlineData(16, 32, "")]
    [InlineData(8, 64, "depthwise conv 3x3 dilation 2")]
    public void SegmentationOutputStridesCompile(int outputStride, int outputSize, string dilatedLayer)
    {
        var fixture = ModelFolder.Fixture("deeplabv3-mobilevit-xx-small");
        var config = System.Text.Json.Nodes.JsonNode.Parse(fixture.ConfigText!)!.AsObject();
        config["output_stride"] = outputStride;
        var result = GeneratorHarness.Run(fixture with { ConfigText = config.ToJsonString() });
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompileDiagnostics.Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning));
        var source = result.Sources.Single().Source;
        Assert.Contains($"OutputChannels = 21, OutputHeight = {outputSize}, OutputWidth = {outputSize};", source);
        if (dilatedLayer.Length > 0) Assert.Contains(dilatedLayer, source);
    }
}
