using System.Text.Json;
using MobileViT.Cli;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>The mobilevit command line as a user or a tool sees it: output formats, errors, exit codes, help.</summary>
public class CliTests
{
    private static readonly string Sneaker = Path.Combine(Fixtures.SampleImages, "sneaker.png");
    private static readonly string Bag = Path.Combine(Fixtures.SampleImages, "bag.png");

    private static readonly Dictionary<string, string> LabelOfFile = new()
    {
        ["t-shirt-top"] = "T-shirt/top", ["trouser"] = "Trouser", ["pullover"] = "Pullover", ["dress"] = "Dress", ["coat"] = "Coat",
        ["sandal"] = "Sandal", ["shirt"] = "Shirt", ["sneaker"] = "Sneaker", ["bag"] = "Bag", ["ankle-boot"] = "Ankle boot",
    };

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void JsonForTheSampleFolderHasOneObjectPerImageWithTheDocumentedNames()
    {
        var (code, stdout, stderr) = Cli.Run(Fixtures.SampleImages, "--json");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        using var json = JsonDocument.Parse(stdout);
        var images = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal(10, images.Length);
        Assert.Equal(images.Select(i => i.GetProperty("file").GetString()).Order(StringComparer.Ordinal), images.Select(i => i.GetProperty("file").GetString()));
        foreach (var image in images)
        {
            Assert.Equal(["file", "top", "ms"], image.EnumerateObject().Select(p => p.Name));
            string file = image.GetProperty("file").GetString()!;
            var top = image.GetProperty("top").EnumerateArray().ToArray();
            Assert.Equal(5, top.Length);
            Assert.All(top, t => Assert.Equal(["index", "label", "probability"], t.EnumerateObject().Select(p => p.Name)));
            Assert.Equal(LabelOfFile[Path.GetFileNameWithoutExtension(file)], top[0].GetProperty("label").GetString());
            var probabilities = top.Select(t => t.GetProperty("probability").GetDouble()).ToArray();
            Assert.Equal(probabilities.OrderDescending(), probabilities);
            Assert.InRange(probabilities.Sum(), 0.5, 1.000001);
            Assert.Equal(ModelCatalog.Get("fashion").ModelName == "mobilevit-xx-small-fashion" ? top[0].GetProperty("label").GetString() : null,
                MobileViT.Cli.Models.FashionMobileViT.Labels[top[0].GetProperty("index").GetInt32()]);
            Assert.True(image.GetProperty("ms").GetDouble() > 0);
        }
    }

    [Fact]
    public void TextShowsTopKWithProbabilitiesAndTime()
    {
        var (code, stdout, stderr) = Cli.Run(Sneaker, "--top", "3");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var lines = Lines(stdout);
        Assert.Equal(4, lines.Length);
        Assert.Matches(@"sneaker\.png: mobilevit-xx-small-fashion, \d+\.\d\d ms$", lines[0]);
        Assert.Matches(@"^\d+\.\d\d %  Sneaker \(7\)$", lines[1]);
    }

    [Fact]
    public void MissingAndCorruptImagesAreOneLineEachAndTheOthersStillGetClassified()
    {
        using var folder = new TempFolder();
        string corrupt = folder.File("corrupt.png", "this is not an image"u8.ToArray());
        string missing = Path.Combine(folder.Path, "missing.png");
        var (code, stdout, stderr) = Cli.Run(missing, Sneaker, corrupt, Bag, "--json");
        Assert.Equal(1, code);
        var errors = Lines(stderr);
        Assert.Equal(2, errors.Length);
        Assert.StartsWith($"error: {missing}: file not found", errors[0]);
        Assert.StartsWith($"error: {corrupt}: not a PNG, JPEG, BMP or GIF image", errors[1]);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal([Sneaker, Bag], json.RootElement.EnumerateArray().Select(i => i.GetProperty("file").GetString()));
    }

    [Fact]
    public void FoldersAreWalkedRecursivelyForImagesOnly()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(Path.Combine(folder.Path, "b", "deeper"));
        File.Copy(Sneaker, Path.Combine(folder.Path, "b", "deeper", "one.PNG"));
        File.Copy(Bag, Path.Combine(folder.Path, "a.png"));
        folder.File("notes.txt", "not an image"u8.ToArray());
        var (code, stdout, _) = Cli.Run(folder.Path, "--json", "--top", "1");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal([Path.Combine(folder.Path, "a.png"), Path.Combine(folder.Path, "b", "deeper", "one.PNG")],
            json.RootElement.EnumerateArray().Select(i => i.GetProperty("file").GetString()));

        using var empty = new TempFolder();
        (code, stdout, var stderr) = Cli.Run(empty.Path);
        Assert.Equal(1, code);
        Assert.Contains("folder without images", stderr);
    }

    [Fact]
    public void ColorPhotosBecomeGrayscaleForTheFashionModel()
    {
        var (code, stdout, stderr) = Cli.Run(Fixtures.Chelsea, "--top", "10", "--json");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(10, json.RootElement[0].GetProperty("top").GetArrayLength());
    }

    [Fact]
    public void ImageNetModelWithHubFolderWeightsMatchesTheReference()
    {
        // A folder as downloaded from the hub: model.safetensors and its preprocessor_config.json (here the
        // fixture's, bicubic), so the app's answer can be checked against the reference logits for this photo.
        using var folder = new TempFolder();
        string weights = Path.Combine(folder.Path, "model.safetensors");
        File.Copy(Path.Combine(Fixtures.ModelDirectory("mobilevit-xx-small"), "model.safetensors"), weights);
        File.Copy(Fixtures.PhotoPreprocessorConfig, Path.Combine(folder.Path, "preprocessor_config.json"));
        var (code, stdout, stderr) = Cli.Run(Fixtures.Chelsea, "--model", "mobilevit-xx-small", "--weights", weights, "--json", "--threads", "1");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var reference = Fixtures.Read(Path.Combine(Fixtures.ModelDirectory("mobilevit-xx-small"), "reference.safetensors"), "logits.photo_chelsea");
        var expected = Classifier.Top(reference, MobileViT.Cli.Models.MobileViTXXSmall.Labels, 5);
        using var json = JsonDocument.Parse(stdout);
        var top = json.RootElement[0].GetProperty("top").EnumerateArray().ToArray();
        Assert.Equal(expected.Select(p => p.Index), top.Select(t => t.GetProperty("index").GetInt32()));
        Assert.Equal(expected.Select(p => p.Label), top.Select(t => t.GetProperty("label").GetString()));
        for (int i = 0; i < 5; i++) Assert.Equal(expected[i].Probability, top[i].GetProperty("probability").GetDouble(), 1e-4);
    }

    [Fact]
    public void ImageNetModelWithoutWeightsSaysToPassThem()
    {
        var (code, stdout, stderr) = Cli.Run(Sneaker, "--model", "mobilevit-small");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Single(Lines(stderr));
        Assert.Contains("--weights", stderr);
        Assert.Contains("apple/mobilevit-small", stderr);
    }

    [Fact]
    public void WeightsOfAnotherArchitectureAreRefusedInOneLine()
    {
        string fashionWeights = Path.Combine(Fixtures.ModelDirectory("mobilevit-xx-small-fashion"), "model.safetensors");
        var (code, stdout, stderr) = Cli.Run(Sneaker, "--model", "mobilevit-small", "--weights", fashionWeights);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Single(Lines(stderr));
        Assert.StartsWith("error: cannot load the weights of mobilevit-small:", stderr);
        Assert.Contains("tensor", stderr);

        (code, _, stderr) = Cli.Run(Sneaker, "--weights", "/no/such/model.safetensors");
        Assert.Equal(1, code);
        Assert.Single(Lines(stderr));
    }

    [Fact]
    public void HelpDocumentsEveryOptionAndTheEvalCommand()
    {
        var (code, stdout, _) = Cli.Run("--help");
        Assert.Equal(0, code);
        foreach (string text in new[] { "image-or-folder", "--model", "--weights", "--top", "--json", "--threads", "eval-fashion",
                     "fashion", "mobilevit-xx-small", "mobilevit-x-small", "mobilevit-small", "Exit code" })
            Assert.Contains(text, stdout);
        (code, stdout, _) = Cli.Run("eval-fashion", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--data", stdout);
        Assert.Contains("MOBILEVIT_FASHION_MNIST", stdout);
        Assert.Contains("dataset-fashion-mnist", stdout);
    }

    [Theory]
    [InlineData(2, "--top", "0")]
    [InlineData(2, "--threads", "-1")]
    [InlineData(2, "--model", "resnet")]
    [InlineData(2, "--top", "many")]
    public void WrongArgumentsAreErrorsNotCrashes(int expectedCode, string option, string value)
    {
        var (code, stdout, stderr) = Cli.Run(Sneaker, option, value);
        Assert.Equal(expectedCode, code);
        Assert.DoesNotContain("Exception", stderr);
        Assert.NotEqual("", stderr.Trim());
        Assert.DoesNotContain("Sneaker (7)", stdout); // nothing classified (a parse error prints the help)
    }

    [Fact]
    public void NoImageIsAnError()
    {
        var (code, _, stderr) = Cli.Run();
        Assert.Equal(2, code);
        Assert.Contains("Required argument missing", stderr);
    }

    [Fact]
    public void TheBuiltAppRunsAsAProcess()
    {
        var (code, stdout, stderr) = Cli.RunProcess("samples/images/sneaker.png", "--json", "--top", "1");
        Assert.Equal(0, code);
        Assert.Equal("", stderr); // no progress bar or anything else when output is redirected
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("Sneaker", json.RootElement[0].GetProperty("top")[0].GetProperty("label").GetString());

        (code, stdout, stderr) = Cli.RunProcess("samples/images/no-such.png", "samples/images/bag.png");
        Assert.Equal(1, code);
        Assert.Equal("error: samples/images/no-such.png: file not found", stderr.Trim());
        Assert.Contains("Bag (8)", stdout);
    }

    [Fact]
    public void InfoListsEveryKernelWithTheTierThisProcessRuns()
    {
        var (code, stdout, stderr) = Cli.Run("info");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains($"Process architecture: {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}", stdout);
        foreach (var path in MobileViT.Compiled.KernelInfo.Paths)
            Assert.Contains(stdout.Split('\n'), line => line.StartsWith(path.Kernel + " ", StringComparison.Ordinal) && line.Contains(" " + path.Path + " "));
    }
}
