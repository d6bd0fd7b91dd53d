using System.Text.Json;
using MobileViT.Cli;
using MobileViT.Cli.Models;
using StbImageSharp;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>`mobilevit segment`: DeepLabV3 end to end, from the photo file to the mask PNG.</summary>
public class SegmentTests
{
    private static readonly string Weights = Path.Combine(Fixtures.ModelDirectory("deeplabv3-mobilevit-xx-small"), "model.safetensors");
    private static readonly string Reference = Path.Combine(Fixtures.ModelDirectory("deeplabv3-mobilevit-xx-small"), "reference.safetensors");

    [Fact]
    public void PhotoThroughPreprocessingAndModelMatchesTheReferenceLogits()
    {
        // chelsea.png -> the compiled-in preprocessing (shortest edge 544, bicubic, crop 512) -> the model, against the
        // reference's logits for input.photo_chelsea at 512x512: checks the preprocessing and the segmentation model together.
        using var model = DeepLabV3MobileViTXXSmall.Load(Weights, 1);
        var preprocessor = ModelCatalog.ReadPreprocessor(DeepLabV3MobileViTXXSmall.ModelName);
        var result = SegmentCommand.Segment(model, preprocessor, ImageDecoder.Decode(Fixtures.Chelsea));
        var expected = Fixtures.Read(Reference, "logits.photo_chelsea");
        float maxError = 0, maxReference = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxError = Math.Max(maxError, Math.Abs(result.Logits[i] - expected[i]));
            maxReference = Math.Max(maxReference, Math.Abs(expected[i]));
        }
        Assert.True(maxError <= 1e-4f * Math.Max(1f, maxReference), $"max error {maxError}");
        Assert.Equal((451, 300), (result.Map.Width, result.Map.Height));
        Assert.Equal(1.0, result.Map.Shares().Sum(), 9);
    }

    [Fact]
    public void WritesMaskAndOverlayAtTheImagesSizeAndPrintsShares()
    {
        string folder = Directory.CreateTempSubdirectory("mobilevit-segment").FullName;
        try
        {
            string mask = Path.Combine(folder, "mask.png"), overlay = Path.Combine(folder, "overlay.png");
            var (code, stdout, stderr) = Cli.Run("segment", Fixtures.Chelsea, "--weights", Weights, "--out", mask, "--overlay", overlay, "--json", "--threads", "1");
            Assert.Equal(0, code);
            Assert.Equal("", stderr);
            using var json = JsonDocument.Parse(stdout);
            var root = json.RootElement;
            Assert.Equal(["file", "width", "height", "classes", "ms"], root.EnumerateObject().Select(p => p.Name));
            Assert.Equal(451, root.GetProperty("width").GetInt32());
            var classes = root.GetProperty("classes").EnumerateArray().ToArray();
            Assert.All(classes, c => Assert.Equal(["index", "label", "share"], c.EnumerateObject().Select(p => p.Name)));
            Assert.Equal(1.0, classes.Sum(c => c.GetProperty("share").GetDouble()), 4);
            Assert.Equal(DeepLabV3MobileViTXXSmall.Labels[classes[0].GetProperty("index").GetInt32()], classes[0].GetProperty("label").GetString());

            foreach (var png in new[] { mask, overlay })
            {
                var decoded = ImageResult.FromMemory(File.ReadAllBytes(png), ColorComponents.RedGreenBlue);
                Assert.Equal((451, 300), (decoded.Width, decoded.Height));
            }
            // The mask's colours are palette colours of the classes reported.
            var maskImage = ImageResult.FromMemory(File.ReadAllBytes(mask), ColorComponents.RedGreenBlue);
            var palette = classes.Select(c => SegmentationMap.Colour(c.GetProperty("index").GetInt32())).ToHashSet();
            for (int i = 0; i < maskImage.Data.Length; i += 3 * 97)
                Assert.Contains((maskImage.Data[i], maskImage.Data[i + 1], maskImage.Data[i + 2]), palette);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void VocPaletteIsTheStandardOne()
    {
        Assert.Equal(((byte)0, (byte)0, (byte)0), SegmentationMap.Colour(0));
        Assert.Equal(((byte)128, (byte)0, (byte)0), SegmentationMap.Colour(1));
        Assert.Equal(((byte)192, (byte)128, (byte)128), SegmentationMap.Colour(15)); // person
    }

    [Fact]
    public void WithoutWeightsItIsAUsageError()
    {
        var (code, _, stderr) = Cli.Run("segment", Fixtures.Chelsea);
        Assert.Equal(2, code);
        Assert.Contains("--weights", stderr);
    }

    [Fact]
    public void WeightsOfAnotherArchitectureAreOneLineAndExitCodeOne()
    {
        string fashion = Path.Combine(Fixtures.ModelDirectory("mobilevit-xx-small-fashion"), "model.safetensors");
        var (code, stdout, stderr) = Cli.Run("segment", Fixtures.Chelsea, "--weights", fashion);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("cannot load the weights", stderr);
    }
}
