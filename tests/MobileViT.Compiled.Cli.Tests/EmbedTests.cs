using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MobileViT.Cli;
using MobileViT.Cli.Models;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>`mobilevit embed` and `mobilevit similar`: the fashion model's pooled features of the sample images.</summary>
public class EmbedTests
{
    private static readonly string Sneaker = Path.Combine(Fixtures.SampleImages, "sneaker.png");

    [Fact]
    public void JsonFeaturesAreTheModelsRunFeatures()
    {
        var (code, stdout, stderr) = Cli.Run("embed", Sneaker, "--json", "--threads", "1");
        Assert.True(code == 0, stderr);
        var image = Assert.Single(JsonDocument.Parse(stdout).RootElement.EnumerateArray());
        Assert.Equal(Sneaker, image.GetProperty("file").GetString());
        var features = image.GetProperty("features").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(Expected(Sneaker), features);
    }

    [Fact]
    public void NpyHoldsOneRowPerImageInTheOrderPrinted()
    {
        using var folder = new TempFolder();
        string npy = Path.Combine(folder.Path, "features.npy");
        var (code, stdout, stderr) = Cli.Run("embed", Fixtures.SampleImages, "--npy", npy, "--threads", "1");
        Assert.True(code == 0, stderr);
        var files = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, files.Length);

        var (shape, values) = ReadNpy(File.ReadAllBytes(npy));
        Assert.Equal((10, FashionMobileViT.FeatureLength), shape);
        for (int row = 0; row < files.Length; row++)
            Assert.Equal(Expected(files[row]), values.AsSpan(row * shape.Columns, shape.Columns).ToArray());
    }

    [Fact]
    public void TextPrintsOneLinePerImage()
    {
        var (code, stdout, _) = Cli.Run("embed", Sneaker, Path.Combine(Fixtures.SampleImages, "bag.png"), "--threads", "1");
        Assert.Equal(0, code);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"sneaker\.png: 320 features, L2 norm \d+\.\d{4}, \d+\.\d\d ms$", lines[0]);
    }

    [Fact]
    public void SimilarRanksTheQueryItselfFirstThenByCosine()
    {
        var (code, stdout, stderr) = Cli.Run("similar", Sneaker, Fixtures.SampleImages, "--top", "4", "--threads", "1");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal($"  1.0000  {Sneaker}", lines[0]);
        var query = Expected(Sneaker);
        var similarities = lines.Select(l => double.Parse(l[..8], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(similarities.OrderDescending(), similarities);
        // each printed similarity is the cosine of the features of the file printed
        foreach (var line in lines)
            Assert.Equal(double.Parse(line[..8], System.Globalization.CultureInfo.InvariantCulture), Embedder.Cosine(query, Expected(line[10..])), 4);
    }

    [Fact]
    public void CosineOfKnownVectors()
    {
        Assert.Equal(1, Embedder.Cosine([1, 2, 3], [2, 4, 6]), 12);
        Assert.Equal(0, Embedder.Cosine([1, 0], [0, 5]), 12);
        Assert.Equal(-1, Embedder.Cosine([1, -1], [-3, 3]), 12);
        Assert.Equal(0, Embedder.Cosine([0, 0], [1, 1]));
    }

    [Fact]
    public void JsonAndNpyTogetherAreAUsageError()
    {
        var (code, stdout, stderr) = Cli.Run("embed", Sneaker, "--json", "--npy", "x.npy");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("error: --json and --npy are alternatives: give one of them\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void AMissingImageIsReportedAndTheOthersStillEmbedded()
    {
        var (code, stdout, stderr) = Cli.Run("embed", "no-such.png", Sneaker, "--json", "--threads", "1");
        Assert.Equal(1, code);
        Assert.Equal("error: no-such.png: file not found\n", stderr.ReplaceLineEndings("\n"));
        Assert.Single(JsonDocument.Parse(stdout).RootElement.EnumerateArray());
    }

    /// <summary>The features computed directly: decode, the fashion preprocessing, RunFeatures.</summary>
    private static float[] Expected(string file)
    {
        var entry = ModelCatalog.Get("fashion");
        var input = ImagePreprocessor.Run(ImageDecoder.Decode(file), entry.Preprocessor, FashionMobileViT.InputChannels, FashionMobileViT.InputHeight, FashionMobileViT.InputWidth);
        using var model = FashionMobileViT.Create(1);
        var features = new float[FashionMobileViT.FeatureLength];
        model.RunFeatures(input, features);
        return features;
    }

    /// <summary>Reads a version 1.0 little-endian float32 C-order 2-D .npy (what embed writes), checking its header.</summary>
    private static ((int Rows, int Columns) Shape, float[] Values) ReadNpy(byte[] file)
    {
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, file[..8]);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(8));
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = Encoding.ASCII.GetString(file, 10, headerLength);
        Assert.EndsWith("\n", header);
        var match = System.Text.RegularExpressions.Regex.Match(header, @"^\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \} *\n$");
        Assert.True(match.Success, header);
        int rows = int.Parse(match.Groups[1].Value), columns = int.Parse(match.Groups[2].Value);
        var values = new float[rows * columns];
        Assert.Equal(10 + headerLength + values.Length * 4, file.Length);
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(10 + headerLength + 4 * i));
        return ((rows, columns), values);
    }
}
