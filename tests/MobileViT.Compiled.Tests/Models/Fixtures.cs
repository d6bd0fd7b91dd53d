using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Tests.Models;

/// <summary>Reads the reference implementation's tensors from the fixtures copied into tests/fixtures.</summary>
internal static class Fixtures
{
    public static string Root { get; } = FindRoot();

    public static string ModelDirectory(string model) => Path.Combine(Root, "models", model);

    public static string Inputs256 => Path.Combine(Root, "inputs", "inputs-256.safetensors");

    public static string Inputs512 => Path.Combine(Root, "inputs", "inputs-512.safetensors");

    public static float[] Read(string file, string tensor)
    {
        using var stream = File.OpenRead(file);
        var entry = SafetensorsHeader.Read(stream, file).Entries[tensor];
        return WeightLoader.Load(stream, file, new[] { new ExpectedTensor(tensor, entry.Shape) }).Get(tensor);
    }

    public static int[] ReadInt32(string file, string tensor)
    {
        using var stream = File.OpenRead(file);
        var header = SafetensorsHeader.Read(stream, file);
        var entry = header.Entries[tensor];
        if (entry.DType != "I32") throw new InvalidOperationException($"{tensor} is {entry.DType}");
        var bytes = new byte[entry.End - entry.Begin];
        stream.Position = header.DataStart + entry.Begin;
        stream.ReadExactly(bytes);
        var result = new int[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, result, 0, bytes.Length);
        return result;
    }

    public static float[] Reference(string model, string tensor) => Read(Path.Combine(ModelDirectory(model), "reference.safetensors"), tensor);

    /// <summary>max |actual - expected|, and the bound 1e-4 * max(1, max |expected|) the foundation issue sets.</summary>
    public static (float MaxError, float Bound) Compare(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        float maxError = 0, maxReference = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            float error = Math.Abs(actual[i] - expected[i]);
            if (!(error <= maxError)) maxError = error; // NaN propagates as a failure
            maxReference = Math.Max(maxReference, Math.Abs(expected[i]));
        }
        Kernels.KernelTestUtil.RecordRelativeError(maxError / Math.Max(1f, maxReference));
        return (maxError, 1e-4f * Math.Max(1f, maxReference));
    }

    public static int[] TopK(ReadOnlySpan<float> values, int k)
    {
        var indices = Enumerable.Range(0, values.Length).ToArray();
        var copy = values.ToArray();
        Array.Sort(indices, (a, b) => copy[b].CompareTo(copy[a]) is var c && c != 0 ? c : a.CompareTo(b));
        return indices.Take(k).ToArray();
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MobileViT.Compiled.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository root not found"), "tests", "fixtures");
    }
}
