using System.Text.Json;
using MobileViT.Cli;
using MobileViT.Cli.Models;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>
/// --precision int8: the int8 Fashion-MNIST model (FashionMobileViTInt8, the same folder compiled with Precision="int8")
/// on the real test set against the issue's goals, and the option as a user sees it in classify, eval-fashion, embed and info.
/// </summary>
public class Int8Tests(ITestOutputHelper output)
{
    private static readonly PreprocessorConfig Fashion = ModelCatalog.Get("fashion").Preprocessor;
    private static readonly string Sneaker = Path.Combine(Fixtures.SampleImages, "sneaker.png");

    private static readonly Dictionary<string, string> LabelOfFile = new()
    {
        ["t-shirt-top"] = "T-shirt/top", ["trouser"] = "Trouser", ["pullover"] = "Pullover", ["dress"] = "Dress", ["coat"] = "Coat",
        ["sandal"] = "Sandal", ["shirt"] = "Shirt", ["sneaker"] = "Sneaker", ["bag"] = "Bag", ["ankle-boot"] = "Ankle boot",
    };

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// The issue's goals for int8: accuracy within 0.5 points of the fp32 reference's 88.64 %, and at least 98.5 % of the
    /// predictions equal to the reference implementation's (which are fp32 predictions). Also measured, not asserted:
    /// agreement with our own fp32 model on the same images.
    /// </summary>
    [Fact]
    public void Int8OnAllTenThousandTestImagesMeetsTheGoals()
    {
        var data = FashionMnist.Load(Fixtures.FashionMnistFolder());
        Assert.Equal(10_000, data.Count);
        Assert.Equal("int8", FashionMobileViTInt8.Precision);
        var int8 = FashionEvaluation.Run(data, () => FashionMobileViTInt8.Create(threads: 1), Fashion, Environment.ProcessorCount, 0, Terminal.Quiet);
        var fp32 = FashionEvaluation.Run(data, () => FashionMobileViT.Create(threads: 1), Fashion, Environment.ProcessorCount, 0, Terminal.Quiet);
        int withFp32 = FashionEvaluation.Agreeing(int8.Predictions, fp32.Predictions);
        output.WriteLine($"int8: accuracy {int8.Accuracy * 100:F2} % ({int8.Correct} / {int8.Count}), agreement with the reference {int8.Agreement * 100:F2} % "
            + $"({int8.Count - int8.Agreeing} differ), agreement with our fp32 {100.0 * withFp32 / int8.Count:F2} % ({int8.Count - withFp32} differ), "
            + $"{int8.ImagesPerSecond:F0} images/s with {int8.Workers} workers");
        output.WriteLine($"fp32: accuracy {fp32.Accuracy * 100:F2} %, agreement with the reference {fp32.Agreement * 100:F2} %, {fp32.ImagesPerSecond:F0} images/s");
        Assert.True(int8.ReferenceApplies, "the IDX labels are not the reference's labels.test");
        Assert.Equal(10_000, int8.Count);
        Assert.InRange(int8.Accuracy * 100, 88.14, 89.14);
        Assert.True(int8.Agreement >= 0.985, $"agreement with the reference {int8.Agreement:P3}");
    }

    [Fact]
    public void ClassifyInt8GivesEachSampleImageItsClass()
    {
        var (code, stdout, stderr) = Cli.Run(Fixtures.SampleImages, "--precision", "int8", "--json", "--top", "1", "--threads", "1");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        using var json = JsonDocument.Parse(stdout);
        var images = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal(10, images.Length);
        foreach (var image in images)
        {
            string file = image.GetProperty("file").GetString()!;
            Assert.Equal(LabelOfFile[Path.GetFileNameWithoutExtension(file)], image.GetProperty("top")[0].GetProperty("label").GetString());
        }
    }

    [Fact]
    public void ClassifyTextSaysInt8AndFp32ReadsAsBefore()
    {
        var (code, stdout, stderr) = Cli.Run(Sneaker, "--precision", "int8", "--top", "3");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var lines = Lines(stdout);
        Assert.Equal(4, lines.Length);
        Assert.Matches(@"sneaker\.png: mobilevit-xx-small-fashion \(int8\), \d+\.\d\d ms$", lines[0]);
        Assert.Matches(@"^\d+\.\d\d %  Sneaker \(7\)$", lines[1]);

        (code, stdout, _) = Cli.Run(Sneaker, "--precision", "fp32", "--top", "1");
        Assert.Equal(0, code);
        Assert.Matches(@"sneaker\.png: mobilevit-xx-small-fashion, \d+\.\d\d ms$", Lines(stdout)[0]);
    }

    [Theory]
    [InlineData("fp16")]
    [InlineData("INT8")]
    [InlineData("")]
    public void AnUnknownPrecisionIsAUsageError(string value)
    {
        foreach (var args in new[]
                 {
                     new[] { Sneaker, "--precision", value },
                     new[] { "eval-fashion", "--limit", "1", "--precision", value },
                     new[] { "embed", Sneaker, "--precision", value },
                 })
        {
            var (code, stdout, stderr) = Cli.Run(args);
            Assert.Equal(2, code);
            Assert.DoesNotContain("Exception", stderr);
            Assert.Contains("--precision", stderr);
            Assert.Contains("fp32", stderr);
            Assert.Contains("int8", stderr);
            Assert.DoesNotContain("Sneaker (7)", stdout); // nothing classified
            Assert.DoesNotContain("accuracy:", stdout);
        }
    }

    [Fact]
    public void TheCatalogRefusesAnUnknownPrecisionInOneLine()
    {
        var e = Assert.Throws<UsageException>(() => ModelCatalog.Get("fashion").Open(null, 1, "fp16"));
        Assert.Equal("unknown precision 'fp16': one of fp32, int8", e.Message);
    }

    [Fact]
    public void EveryModelOfTheCatalogHasBothPrecisionsAndInt8NeedsTheSameWeights()
    {
        foreach (var entry in ModelCatalog.All)
        {
            Assert.Equal("fp32", entry.Variant("fp32").Precision);
            Assert.Equal("int8", entry.Variant("int8").Precision);
            Assert.Equal(entry.Fp32.Create is null, entry.Int8.Create is null);
        }
        using (var fashion = ModelCatalog.Get("fashion").Open(null, 1, "int8"))
        {
            Assert.Equal("int8", ((ICompiledNetwork)fashion).Precision);
            Assert.Equal(FashionMobileViT.ModelName, fashion.ModelName);
        }
        var (code, stdout, stderr) = Cli.Run(Sneaker, "--model", "mobilevit-small", "--precision", "int8");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("--weights", stderr);
    }

    [Fact]
    public void ImageNetInt8LoadsTheFloatWeightsAndRanksThePhotoLikeTheReference()
    {
        // The int8 class compiled with EmbedWeights="false" quantizes the hub's float model.safetensors when it loads it.
        using var folder = new TempFolder();
        string weights = Path.Combine(folder.Path, "model.safetensors");
        File.Copy(Path.Combine(Fixtures.ModelDirectory("mobilevit-xx-small"), "model.safetensors"), weights);
        File.Copy(Fixtures.PhotoPreprocessorConfig, Path.Combine(folder.Path, "preprocessor_config.json"));
        var (code, stdout, stderr) = Cli.Run(Fixtures.Chelsea, "--model", "mobilevit-xx-small", "--weights", weights, "--precision", "int8", "--json", "--top", "5", "--threads", "1");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var reference = Fixtures.Read(Path.Combine(Fixtures.ModelDirectory("mobilevit-xx-small"), "reference.safetensors"), "logits.photo_chelsea");
        var expected = Classifier.Top(reference, MobileViTXXSmall.Labels, 5);
        using var json = JsonDocument.Parse(stdout);
        var top = json.RootElement[0].GetProperty("top").EnumerateArray().ToArray();
        output.WriteLine("reference fp32: " + string.Join(", ", expected.Select(p => $"{p.Label} {p.Probability:F4}")));
        output.WriteLine("ours int8:      " + string.Join(", ", top.Select(t => $"{t.GetProperty("label").GetString()} {t.GetProperty("probability").GetDouble():F4}")));
        // This photo's reference top 5 are close (1.22 % to 0.66 %): int8 may reorder neighbours, so its top 1 must be among the
        // reference's top 3 and 3 of its top 5 among the reference's top 5, not the exact order.
        Assert.Contains(top[0].GetProperty("index").GetInt32(), expected.Take(3).Select(p => p.Index));
        Assert.True(top.Count(t => expected.Any(p => p.Index == t.GetProperty("index").GetInt32())) >= 3, "fewer than 3 of the reference's top 5");

        (code, stdout, _) = Cli.Run(Fixtures.Chelsea, "--model", "mobilevit-xx-small", "--weights", weights, "--precision", "int8", "--top", "1", "--threads", "1");
        Assert.Equal(0, code);
        Assert.Matches(@"chelsea\.png: mobilevit-xx-small \(int8\), \d+\.\d\d ms", stdout);
    }

    [Fact]
    public void EvalFashionInt8PrintsPrecisionAccuracyAgreementsAndSpeed()
    {
        var (code, stdout, stderr) = Cli.Run("eval-fashion", "--data", Fixtures.FashionMnistFolder(), "--limit", "40", "--threads", "1", "--precision", "int8");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        output.WriteLine(stdout);
        var lines = Lines(stdout);
        Assert.Equal(6, lines.Length);
        Assert.StartsWith("Fashion-MNIST test set: 40 of 10000 images", lines[0]);
        Assert.StartsWith("precision:  int8", lines[1]);
        Assert.Matches(@"^accuracy:\s+\d+\.\d\d % \(\d+ / 40", lines[2]);
        Assert.Matches(@"^agreement:\s+\d+\.\d\d % \(\d+ / 40 predictions equal to the reference implementation's", lines[3]);
        Assert.Matches(@"^with fp32:\s+\d+\.\d\d % \(\d+ / 40 predictions equal to this app's fp32 model's\)$", lines[4]);
        Assert.Matches(@"^speed:\s+\d+ images/s", lines[5]);

        (code, stdout, _) = Cli.Run("eval-fashion", "--data", Fixtures.FashionMnistFolder(), "--limit", "20", "--threads", "1");
        Assert.Equal(0, code);
        Assert.Contains("precision:  fp32", stdout);
        Assert.DoesNotContain("with fp32:", stdout);
    }

    [Fact]
    public void EmbedAndSimilarTakeThePrecisionToo()
    {
        var (code, stdout, stderr) = Cli.Run("embed", Sneaker, "--precision", "int8", "--threads", "1");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Matches(@"sneaker\.png: 320 features, L2 norm \d+\.\d{4}", stdout);

        (code, stdout, stderr) = Cli.Run("similar", Sneaker, Fixtures.SampleImages, "--top", "1", "--precision", "int8", "--threads", "1");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.EndsWith("sneaker.png", Lines(stdout)[0]);
    }

    [Fact]
    public void HelpDocumentsThePrecision()
    {
        foreach (var args in new[] { new[] { "--help" }, new[] { "eval-fashion", "--help" }, new[] { "embed", "--help" }, new[] { "similar", "--help" } })
        {
            var (code, stdout, _) = Cli.Run(args);
            Assert.Equal(0, code);
            Assert.Contains("--precision", stdout);
            Assert.Contains("fp32|int8", stdout);
        }
    }

    [Fact]
    public void InfoShowsEachModelsPrecisions()
    {
        var (code, stdout, stderr) = Cli.Run("info");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var lines = Lines(stdout);
        Assert.Contains(lines, l => l.StartsWith("weights of mobilevit-xx-small-fashion: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("weights of mobilevit-xx-small-fashion (int8): ", StringComparison.Ordinal));
        foreach (var entry in ModelCatalog.All)
            Assert.Contains(lines, l => l.StartsWith($"model {entry.Name}: fp32, int8; ", StringComparison.Ordinal));
    }
}
