using MobileViT.Cli;
using MobileViT.Cli.Models;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>
/// images/chelsea.png through our decoder and preprocessing against input.photo_chelsea, which the reference
/// MobileViTImageProcessor (transformers 5.17) made from the same file with tests/fixtures/models/preprocessor_config.json
/// (shortest edge 288, bicubic, antialiased; crop 256; 1/255; BGR).
/// </summary>
public class PhotoPreprocessingTests(ITestOutputHelper output)
{
    private static float[] Ours(Resize.FixedPoint fixedPoint = Resize.FixedPoint.Torchvision)
    {
        var image = ImageDecoder.Decode(Fixtures.Chelsea);
        var config = PreprocessorConfig.Load(Fixtures.PhotoPreprocessorConfig);
        if (fixedPoint == Resize.FixedPoint.Torchvision) return ImagePreprocessor.Run(image, config, 3, 256, 256);
        // The same pipeline with PIL's 22-bit weights, for the comparison in the report.
        var (h, w) = config.ResizedSize(image.Height, image.Width);
        var resized = Resize.Antialiased(image, h, w, config.Resample, fixedPoint);
        return ImagePreprocessor.Run(resized, config with { DoResize = false }, 3, 256, 256);
    }

    [Fact]
    public void ChelseaMatchesReferencePixelValues()
    {
        var expected = Fixtures.Read(Fixtures.Inputs256, "input.photo_chelsea");
        var actual = Ours();
        var (mean, max) = Fixtures.Differences(actual, expected);
        int differing = actual.Zip(expected).Count(p => Math.Abs(p.First - p.Second) > 1e-6);
        output.WriteLine($"chelsea.png vs input.photo_chelsea: mean |diff| {mean:E3}, max |diff| {max:E3} ({max * 255:F3}/255), {differing} of {actual.Length} values differ");
        // Measured: every value equal up to float rounding (the 8-bit resize reproduces torchvision's bit for bit).
        Assert.True(max <= 1e-6, $"max |diff| {max}");
        Assert.True(mean <= 1e-7, $"mean |diff| {mean}");
    }

    [Fact]
    public void PilFixedPointIsWithinOneLevelOfTheReference()
    {
        var expected = Fixtures.Read(Fixtures.Inputs256, "input.photo_chelsea");
        var (mean, max) = Fixtures.Differences(Ours(Resize.FixedPoint.Pil), expected);
        output.WriteLine($"PIL's 22-bit weights instead: mean |diff| {mean:E3}, max |diff| {max:E3} ({max * 255:F3}/255)");
        Assert.True(max <= 1.0 / 255 + 1e-6, $"max |diff| {max}");
    }

    [Fact]
    public void ReferenceModelTop5IsTheSameOnOurPreprocessing()
    {
        using var model = MobileViTXXSmall.Load(Path.Combine(Fixtures.ModelDirectory("mobilevit-xx-small"), "model.safetensors"), threads: 1);
        var reference = new float[MobileViTXXSmall.OutputLength];
        var ours = new float[MobileViTXXSmall.OutputLength];
        model.Run(Fixtures.Read(Fixtures.Inputs256, "input.photo_chelsea"), reference);
        model.Run(Ours(), ours);
        var (_, max) = Fixtures.Differences(ours, reference);
        output.WriteLine($"mobilevit-xx-small logits: max |diff| {max:E3}; top-5 {string.Join(",", Fixtures.TopK(ours, 5))} vs {string.Join(",", Fixtures.TopK(reference, 5))}");
        Assert.Equal(Fixtures.TopK(reference, 5), Fixtures.TopK(ours, 5));
        // and the model's own reference logits for that input agree with what our model computes on it
        var expected = Fixtures.Read(Path.Combine(Fixtures.ModelDirectory("mobilevit-xx-small"), "reference.safetensors"), "logits.photo_chelsea");
        Assert.Equal(Fixtures.TopK(expected, 5), Fixtures.TopK(ours, 5));
    }
}
