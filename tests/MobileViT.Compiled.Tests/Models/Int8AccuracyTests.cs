using Xunit.Abstractions;
using MobileViT.Compiled.Tests.Compiled;

namespace MobileViT.Compiled.Tests.Models;

/// <summary>
/// The Precision="int8" models against the same folders compiled in fp32 (which match the reference within 1e-4), on
/// every fixture input. The issue's bars: the ImageNet models' top-1 identical to fp32 and every logit within 10 % of
/// the largest fp32 logit; DeepLabV3's per-pixel classes agreeing with fp32's. The Fashion-MNIST accuracy over the
/// 10,000 test images is measured in the CLI tests (FashionMnistTests).
/// </summary>
public class Int8AccuracyTests(ITestOutputHelper log)
{
    private const string Int8Note = "; int8 (weights per output channel, input per pixel at run time)";

    /// <summary>Every logit of int8 within this fraction of the largest |fp32 logit|.</summary>
    private const double LogitTolerance = 0.10;

    public static TheoryData<string, string> ImageNetCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "mobilevit-xx-small", "mobilevit-x-small", "mobilevit-small" })
            foreach (var input in new[] { "rand0", "rand1", "smooth", "photo_chelsea" })
                data.Add(model, input);
        return data;
    }

    [Theory]
    [MemberData(nameof(ImageNetCases))]
    public void ImageNetModels_Top1AndLogitsMatchFp32(string model, string input)
    {
        var pixels = Fixtures.Read(Fixtures.Inputs256, "input." + input);
        var (fp32, int8) = RunBoth(model, pixels);
        double relative = MaxDifference(int8, fp32) / MaxAbs(fp32);
        var top5 = Fixtures.TopK(fp32, 5);
        log.WriteLine($"{model}/{input}: max |int8 - fp32| / max |fp32| = {relative:P2}; top-1 {Fixtures.TopK(int8, 1)[0]} vs {top5[0]}; " +
            $"top-5 overlap {Fixtures.TopK(int8, 5).Intersect(top5).Count()}/5");
        Assert.Equal(top5[0], Fixtures.TopK(int8, 1)[0]);
        Assert.True(relative <= LogitTolerance, $"{model}/{input}: logits differ by {relative:P2} of the largest");
    }

    /// <summary>
    /// The issue asks for DeepLabV3's pixel agreement as a figure, with no goal; this bar (the measured 78 %, less a
    /// margin) keeps it from silently dropping. The pixels that change are those where fp32's two best classes are
    /// close: the log says how close.
    /// </summary>
    [Fact]
    public void DeepLab_PixelClassesAgreeWithFp32()
    {
        const string model = "deeplabv3-mobilevit-xx-small";
        var (fp32, int8) = RunBoth(model, Fixtures.Read(Fixtures.Inputs512, "input.photo_chelsea"));
        const int classes = 21, pixels = 32 * 32;
        int agreeing = 0;
        var margins = new List<double>();
        for (int p = 0; p < pixels; p++)
        {
            if (ArgMax(fp32, p, pixels, classes) == ArgMax(int8, p, pixels, classes)) { agreeing++; continue; }
            margins.Add(Margin(fp32, p, pixels, classes));
        }
        double agreement = agreeing / (double)pixels;
        double relative = MaxDifference(int8, fp32) / MaxAbs(fp32);
        margins.Sort();
        log.WriteLine($"{model}/photo_chelsea: pixel agreement {agreement:P2} ({pixels - agreeing} of {pixels} differ); max |int8 - fp32| / max |fp32| = {relative:P2}; " +
            $"fp32's margin between its two best logits at the differing pixels: median {(margins.Count > 0 ? margins[margins.Count / 2] : 0):F2}, " +
            $"largest {(margins.Count > 0 ? margins[^1] : 0):F2} (largest |logit| {MaxAbs(fp32):F2})");
        Assert.True(agreement >= MinPixelAgreement, $"pixel agreement {agreement:P2} < {MinPixelAgreement:P0}");
    }

    private const double MinPixelAgreement = 0.75;

    [Fact]
    public void Fashion_SixteenReferenceImagesClassifyAsFp32()
    {
        var inputs = Fixtures.Reference("mobilevit-xx-small-fashion", "input.test16");
        using var fp32 = CompiledModels.Create("mobilevit-xx-small-fashion");
        using var int8 = CompiledModels.CreateInt8("mobilevit-xx-small-fashion");
        var a = new float[10];
        var b = new float[10];
        int same = 0;
        double worst = 0;
        for (int i = 0; i < 16; i++)
        {
            fp32.Run(inputs.AsSpan(i * 4096, 4096), a);
            int8.Run(inputs.AsSpan(i * 4096, 4096), b);
            if (Fixtures.TopK(a, 1)[0] == Fixtures.TopK(b, 1)[0]) same++;
            worst = Math.Max(worst, MaxDifference(b, a) / MaxAbs(a));
        }
        log.WriteLine($"fashion: {same}/16 top-1 equal to fp32, worst max |int8 - fp32| / max |fp32| = {worst:P2}");
        Assert.True(same >= 15, $"{same}/16 top-1 equal");
        Assert.True(worst <= LogitTolerance, $"logits differ by {worst:P2}");
    }

    /// <summary>The generated class says what it is, and its layer descriptions say which layers run in int8.</summary>
    [Fact]
    public void Int8ModelDescribesItsPrecisionPerLayer()
    {
        using var int8 = CompiledModels.CreateInt8("mobilevit-small");
        using var fp32 = CompiledModels.Create("mobilevit-small");
        Assert.Equal("int8", int8.Precision);
        Assert.Equal("fp32", fp32.Precision);
        Assert.Equal(fp32.LayerDescriptions.Count, int8.LayerDescriptions.Count);
        Assert.True(int8.LayerDescriptions.Any(d => d.StartsWith("mobilevit.encoder.layer.2.downsampling_layer.expand_1x1") && d.EndsWith(Int8Note)), "expand_1x1 of stage 2 in int8");
        Assert.True(int8.LayerDescriptions.Any(d => d.StartsWith("mobilevit.encoder.layer.4.fusion") && d.EndsWith(Int8Note.Replace(")", ", unfolded)"))), "fusion 3x3 in int8");
        Assert.True(int8.LayerDescriptions.Any(d => d.StartsWith("mobilevit.encoder.layer.1.layer.0.expand_1x1") && d.EndsWith("; float: the first two stages")), "stage 1 in float");
        Assert.True(int8.LayerDescriptions.Any(d => d.StartsWith("mobilevit.encoder.layer.1.layer.2.reduce_1x1") && d.EndsWith("; float: the first two stages")), "stage 1's projections in float");
        Assert.True(int8.LayerDescriptions.Any(d => d.Contains("attention over") && d.EndsWith("; float: attention (softmax)")), "attention in float");
        Assert.True(int8.LayerDescriptions.Any(d => d.StartsWith("mobilevit.conv_stem") && d.EndsWith("; float: the first convolution")), "the stem in float");
        Assert.True(int8.LayerDescriptions.Any(d => d.StartsWith("classifier") && d.EndsWith(Int8Note)), "the classifier in int8");
    }

    /// <summary>
    /// The int8 weights are about four times smaller than the fp32 ones (each int8 weight a quarter of its floats, plus a
    /// scale and a sum per row; the first two stages, depthwise convolutions and norms stay float): 0.23x measured.
    /// </summary>
    [Theory]
    [InlineData("mobilevit-xx-small")]
    [InlineData("mobilevit-x-small")]
    [InlineData("mobilevit-small")]
    public void Int8WeightsAreSmaller(string model)
    {
        using var int8 = CompiledModels.CreateInt8(model);
        using var fp32 = CompiledModels.Create(model);
        double a = Megabytes(int8.WeightsResidence), b = Megabytes(fp32.WeightsResidence);
        log.WriteLine($"{model}: int8 {int8.WeightsResidence}; fp32 {fp32.WeightsResidence}: {a / b:F2}x");
        Assert.True(a < 0.27 * b, $"int8 {a} MB vs fp32 {b} MB: not about four times smaller");
    }

    /// <summary>Load of the safetensors file prepares the int8 weights at run time exactly as the build did, and threads change nothing.</summary>
    [Theory]
    [InlineData("mobilevit-xx-small")]
    [InlineData("deeplabv3-mobilevit-xx-small")]
    public void LoadAndTwoThreadsGiveTheSameBits(string model)
    {
        var pixels = model.StartsWith("deeplab") ? Fixtures.Read(Fixtures.Inputs512, "input.photo_chelsea") : Fixtures.Read(Fixtures.Inputs256, "input.photo_chelsea");
        using var created = CompiledModels.CreateInt8(model, threads: 1);
        using var loaded = CompiledModels.LoadInt8(model, threads: 1);
        using var twoThreads = CompiledModels.CreateInt8(model, threads: 2);
        var a = new float[created.OutputLength];
        var b = new float[created.OutputLength];
        var c = new float[created.OutputLength];
        created.Run(pixels, a);
        loaded.Run(pixels, b);
        twoThreads.Run(pixels, c);
        Assert.Equal(a, b);
        Assert.Equal(a, c);
    }

    private static (float[] Fp32, float[] Int8) RunBoth(string model, float[] pixels)
    {
        using var fp32 = CompiledModels.Create(model);
        using var int8 = CompiledModels.CreateInt8(model);
        var a = new float[fp32.OutputLength];
        var b = new float[int8.OutputLength];
        fp32.Run(pixels, a);
        int8.Run(pixels, b);
        return (a, b);
    }

    private static int ArgMax(float[] logits, int pixel, int pixels, int classes)
    {
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (logits[c * pixels + pixel] > logits[best * pixels + pixel]) best = c;
        return best;
    }

    private static double Margin(float[] logits, int pixel, int pixels, int classes)
    {
        var values = Enumerable.Range(0, classes).Select(c => (double)logits[c * pixels + pixel]).OrderDescending().ToArray();
        return values[0] - values[1];
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    private static double MaxAbs(float[] a) => a.Max(x => Math.Abs((double)x));

    /// <summary>The size in a WeightsResidence text such as "embedded resource (in place), 26.6 MB".</summary>
    private static double Megabytes(string residence)
    {
        var match = System.Text.RegularExpressions.Regex.Match(residence, @"([\d.]+) MB");
        Assert.True(match.Success, residence);
        return double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
