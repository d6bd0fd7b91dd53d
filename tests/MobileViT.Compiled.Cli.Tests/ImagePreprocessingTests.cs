using CsCheck;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>The runtime's preprocessing steps one by one: hand-computed cases and properties.</summary>
public class ImagePreprocessingTests
{
    private static readonly PreprocessorConfig NoResize = new() { DoResize = false, DoCenterCrop = false, DoRescale = false, DoFlipChannelOrder = false };

    [Fact]
    public void BilinearFloatIsPyTorchInterpolateWithHalfPixelCentres()
    {
        // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode="bilinear", align_corners=False)
        float[] expected =
        [
            0.00f, 0.25f, 0.75f, 1.00f,
            0.50f, 0.75f, 1.25f, 1.50f,
            1.50f, 1.75f, 2.25f, 2.50f,
            2.00f, 2.25f, 2.75f, 3.00f,
        ];
        var output = new float[16];
        Resize.BilinearFloat([0f, 1f, 2f, 3f], 1, 2, 2, output, 4, 4);
        Assert.Equal(expected, output);
    }

    [Fact]
    public void AntialiasedHalvingWeighsThreeNeighbours()
    {
        // Shrinking 4 -> 2 with the bilinear (triangle) filter stretched to support 2: output 0 covers inputs 0..2 with
        // weights .75/.75/.25 (normalized by 1.75) = 57.14 -> 57, output 1 inputs 1..3 with .25/.75/.75 = 182.86 -> 183.
        var image = new RawImage(4, 1, 1, [0, 80, 160, 240]);
        var resized = Resize.Antialiased(image, 1, 2, Resampling.Bilinear);
        Assert.Equal(new byte[] { 57, 183 }, resized.Pixels);
    }

    [Fact]
    public void ConstantImagesStayConstantWhateverTheSizes()
    {
        Gen.Select(Gen.Int[1, 40], Gen.Int[1, 40], Gen.Int[1, 40], Gen.Int[1, 40], Gen.Byte, Gen.Bool, Gen.Int[1, 3])
            .Where(t => t.Item7 != 2)
            .Sample((w, h, ow, oh, value, bicubic, channels) =>
            {
                var image = new RawImage(w, h, channels, Enumerable.Repeat(value, w * h * channels).ToArray());
                var filter = bicubic ? Resampling.Bicubic : Resampling.Bilinear;
                var resized = Resize.Antialiased(image, oh, ow, filter);
                Assert.Equal((ow, oh, channels), (resized.Width, resized.Height, resized.Channels));
                Assert.All(resized.Pixels, p => Assert.Equal(value, p));
                var floats = new float[channels * oh * ow];
                Resize.BilinearFloat(Enumerable.Repeat(value / 255f, channels * w * h).ToArray(), channels, h, w, floats, oh, ow);
                Assert.All(floats, f => Assert.Equal(value / 255f, f, 1e-6f));
            }, iter: 300);
    }

    [Fact]
    public void ResizingToTheSameSizeChangesNothing()
    {
        Gen.Select(Gen.Int[1, 30], Gen.Int[1, 30], Gen.Bool).Sample((w, h, bicubic) =>
        {
            var pixels = Enumerable.Range(0, w * h * 3).Select(i => (byte)(i * 37 % 251)).ToArray();
            var image = new RawImage(w, h, 3, pixels);
            Assert.Equal(pixels, Resize.Antialiased(image, h, w, bicubic ? Resampling.Bicubic : Resampling.Bilinear).Pixels);
        }, iter: 100);
    }

    [Theory]
    [InlineData(451, 300, 288, 288, 432)] // chelsea.png: the long side is truncated (432.96 -> 432)
    [InlineData(300, 451, 288, 432, 288)]
    [InlineData(28, 28, 288, 288, 288)]
    [InlineData(1000, 1, 288, 288, 288000)]
    public void ShortestEdgeKeepsTheAspectRatioAndTruncates(int width, int height, int edge, int expectedHeight, int expectedWidth)
    {
        var config = new PreprocessorConfig { ShortestEdge = edge };
        Assert.Equal((expectedHeight, expectedWidth), config.ResizedSize(height, width));
    }

    [Theory]
    [InlineData(5, 2, 2)] // (5 - 2) / 2 = 1.5 rounds to even: 2 (torchvision's round())
    [InlineData(7, 2, 2)] // 2.5 -> 2
    [InlineData(6, 2, 2)] // 2
    [InlineData(4, 4, 0)]
    public void CenterCropRoundsLikeTorchvision(int size, int crop, int expectedOffset)
    {
        var ramp = Enumerable.Range(0, size).Select(i => (byte)i).ToArray();
        var config = NoResize with { DoCenterCrop = true, CropHeight = 1, CropWidth = crop };
        var output = ImagePreprocessor.Run(new RawImage(size, 1, 1, ramp), config, 1, 1, crop);
        Assert.Equal(Enumerable.Range(expectedOffset, crop).Select(i => (float)i).ToArray(), output);
    }

    [Fact]
    public void CropLargerThanTheImagePadsWithZerosAroundIt()
    {
        var config = NoResize with { DoCenterCrop = true, CropHeight = 3, CropWidth = 4 };
        var output = ImagePreprocessor.Run(new RawImage(1, 1, 1, [9]), config, 1, 3, 4);
        // torchvision pads (4 - 1) / 2 = 1 on the left and (3 - 1) / 2 = 1 on top
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0 }, output);
    }

    [Fact]
    public void RescaleAndFlipChannelOrderMakeBgrInZeroToOne()
    {
        var config = NoResize with { DoRescale = true, RescaleFactor = 1f / 255f, DoFlipChannelOrder = true };
        var output = ImagePreprocessor.Run(new RawImage(1, 1, 3, [255, 51, 0]), config, 3, 1, 1);
        Assert.Equal(new[] { 0f, 51 * (1f / 255f), 1f }, output);
    }

    [Fact]
    public void NormalizeSubtractsMeanAndDividesByStd()
    {
        var config = NoResize with { DoNormalize = true, ImageMean = [1f, 2f, 3f], ImageStd = [2f, 4f, 8f] };
        var output = ImagePreprocessor.Run(new RawImage(1, 1, 3, [5, 6, 11]), config, 3, 1, 1);
        Assert.Equal(new[] { 2f, 1f, 1f }, output);
    }

    [Fact]
    public void OneChannelModelsGetPilLumaAndThreeChannelModelsGetGrayCopied()
    {
        var rgb = new RawImage(3, 1, 3, [255, 0, 0, 0, 255, 0, 0, 0, 255]);
        // PIL: Image.new("RGB", ...).convert("L") gives 76, 150, 29 for pure red, green, blue
        Assert.Equal(new byte[] { 76, 150, 29 }, rgb.ToGrayscale().Pixels);
        var gray = new RawImage(1, 1, 1, [200]);
        Assert.Equal(new byte[] { 200, 200, 200 }, gray.ToRgb().Pixels);
        Assert.Equal(new float[] { 76, 150, 29 }, ImagePreprocessor.Run(rgb, NoResize, 1, 1, 3));
    }

    [Fact]
    public void AModelOfAnotherSizeIsACleanError()
    {
        var config = new PreprocessorConfig { ShortestEdge = 288, CropHeight = 256, CropWidth = 256 };
        var e = Assert.Throws<ArgumentException>(() => ImagePreprocessor.Run(new RawImage(10, 10, 3, new byte[300]), config, 3, 64, 64));
        Assert.Contains("256x256", e.Message);
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(-1, 10)]
    [InlineData(40000, 10)]
    [InlineData(20000, 20000)]
    public void AbsurdSizesAreRefused(int width, int height)
    {
        Assert.Throws<ArgumentException>(() => RawImage.Validate(width, height));
        Assert.Throws<ArgumentException>(() => new RawImage(width, height, 1, []));
    }
}

public class PreprocessorConfigTests
{
    [Fact]
    public void HubConfigOfAppleMobileViT()
    {
        var config = PreprocessorConfig.Load(Path.Combine(Fixtures.RepoRoot, "samples", "Classify", "models", "mobilevit-small", "preprocessor_config.json"));
        Assert.Equal(288, config.ShortestEdge);
        Assert.Equal(Resampling.Bilinear, config.Resample);
        Assert.True(config.Antialias && config.DoCenterCrop && config.DoRescale && config.DoFlipChannelOrder && !config.DoNormalize);
        Assert.Equal((256, 256), (config.CropHeight, config.CropWidth));
        Assert.Equal(1f / 255f, config.RescaleFactor);
    }

    [Fact]
    public void FixtureConfigIsBicubic()
    {
        var config = PreprocessorConfig.Load(Fixtures.PhotoPreprocessorConfig);
        Assert.Equal(Resampling.Bicubic, config.Resample);
        Assert.Equal((256, 256), config.OutputSize(300, 451));
    }

    [Fact]
    public void FashionConfigResizesTo64WithoutAntialiasOrCrop()
    {
        var config = PreprocessorConfig.Load(Path.Combine(Fixtures.RepoRoot, "samples", "Classify", "models", "mobilevit-xx-small-fashion", "preprocessor_config.json"));
        Assert.Equal((64, 64), config.OutputSize(28, 28));
        Assert.Equal((64, 64), config.OutputSize(300, 451));
        Assert.False(config.Antialias || config.DoCenterCrop || config.DoFlipChannelOrder);
    }

    [Fact]
    public void DefaultsAreMobileViTImageProcessorsDefaults()
    {
        var config = PreprocessorConfig.Parse("{}");
        Assert.Equal((224, 256, 256, Resampling.Bilinear), (config.ShortestEdge, config.CropHeight, config.CropWidth, config.Resample));
        Assert.True(config.DoFlipChannelOrder);
    }

    [Theory]
    [InlineData("not json", "JSON")]
    [InlineData("[1]", "object")]
    [InlineData("{\"resample\": 1}", "resample 1")]
    [InlineData("{\"resample\": \"bilinear\"}", "resample")]
    [InlineData("{\"size\": {\"shortest_edge\": 0}}", "size.shortest_edge")]
    [InlineData("{\"size\": {\"height\": 10}}", "size")]
    [InlineData("{\"size\": {\"shortest_edge\": 10, \"longest_edge\": 20}}", "longest_edge")]
    [InlineData("{\"crop_size\": {\"height\": 10}}", "crop_size")]
    [InlineData("{\"do_resize\": 1}", "do_resize")]
    [InlineData("{\"rescale_factor\": -1}", "rescale_factor")]
    [InlineData("{\"image_std\": [1, 0, 1]}", "image_std")]
    public void InvalidSettingsNameTheKey(string json, string expected)
    {
        var e = Assert.Throws<FormatException>(() => PreprocessorConfig.Parse(json));
        Assert.Contains(expected, e.Message);
    }
}
