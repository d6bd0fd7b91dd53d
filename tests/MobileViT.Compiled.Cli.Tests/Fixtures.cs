using MobileViT.Cli;
using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>Paths of the repository and reads of the reference implementation's tensors (tests/fixtures).</summary>
internal static class Fixtures
{
    public static string RepoRoot { get; } = FindRoot();
    public static string Root => Path.Combine(RepoRoot, "tests", "fixtures");
    public static string ModelDirectory(string model) => Path.Combine(Root, "models", model);
    public static string Inputs256 => Path.Combine(Root, "inputs", "inputs-256.safetensors");
    public static string Chelsea => Path.Combine(Root, "images", "chelsea.png");
    public static string PhotoPreprocessorConfig => Path.Combine(Root, "models", "preprocessor_config.json");
    public static string SampleImages => Path.Combine(RepoRoot, "samples", "images");
    public static string FashionReference => Path.Combine(ModelDirectory("mobilevit-xx-small-fashion"), "reference.safetensors");

    public static float[] Read(string file, string tensor)
    {
        using var stream = File.OpenRead(file);
        var entry = SafetensorsHeader.Read(stream, file).Entries[tensor];
        return WeightLoader.Load(stream, file, [new ExpectedTensor(tensor, entry.Shape)]).Get(tensor);
    }

    /// <summary>The repository's copy of the Fashion-MNIST test set (tests/fixtures/fashion-mnist, see its README).</summary>
    public static string ShippedFashionMnist => Path.Combine(Root, "fashion-mnist");

    /// <summary>Where the tests read the Fashion-MNIST test set: $MOBILEVIT_FASHION_MNIST when set, else the repository's copy.</summary>
    public static string FashionMnistFolder()
    {
        string folder = Environment.GetEnvironmentVariable(FashionMnist.EnvironmentVariable) is { Length: > 0 } custom ? custom : ShippedFashionMnist;
        Assert.True(File.Exists(Path.Combine(folder, FashionMnist.ImagesFile + ".gz")) || File.Exists(Path.Combine(folder, FashionMnist.ImagesFile)),
            $"The Fashion-MNIST test set is not in {folder}: the repository ships it in tests/fixtures/fashion-mnist; "
            + $"{FashionMnist.EnvironmentVariable}, when set, must name a folder holding {FashionMnist.ImagesFile}.gz and {FashionMnist.LabelsFile}.gz.");
        return folder;
    }

    /// <summary>(mean, max) of |a - b|.</summary>
    public static (double Mean, double Max) Differences(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(b.Length, a.Length);
        double sum = 0, max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            if (!(d <= max)) max = d; // NaN propagates as a failure
            sum += d;
        }
        return (sum / a.Length, max);
    }

    public static int[] TopK(ReadOnlySpan<float> values, int k)
    {
        var indices = Enumerable.Range(0, values.Length).ToArray();
        var copy = values.ToArray();
        Array.Sort(indices, (x, y) => copy[y].CompareTo(copy[x]) is var c && c != 0 ? c : x.CompareTo(y));
        return indices.Take(k).ToArray();
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MobileViT.Compiled.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
