using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>The repository's fixture files, shared by the benchmark catalogs: where they are and their tensors.</summary>
internal static class FixtureFiles
{
    public static readonly string RepoRoot = FindRepoRoot();

    /// <summary>
    /// The reference input of a model's size: input.rand0 for 256x256 models, the 512x512 photo for the segmentation
    /// model, the first fashion test image for 64x64.
    /// </summary>
    public static float[] Input(string model)
    {
        if (model == "deeplabv3-mobilevit-xx-small")
            return Tensor(Path.Combine(RepoRoot, "tests", "fixtures", "inputs", "inputs-512.safetensors"), "input.photo_chelsea");
        if (model == "mobilevit-xx-small-fashion")
            return Tensor(Path.Combine(RepoRoot, "tests", "fixtures", "models", model, "reference.safetensors"), "input.test16").AsSpan(0, 64 * 64).ToArray();
        return Tensor(Path.Combine(RepoRoot, "tests", "fixtures", "inputs", "inputs-256.safetensors"), "input.rand0");
    }

    /// <summary>One tensor of a safetensors file, as float32.</summary>
    public static float[] Tensor(string file, string name)
    {
        using var stream = File.OpenRead(file);
        var entry = SafetensorsHeader.Read(stream, file).Entries[name];
        return WeightLoader.Load(stream, file, [new ExpectedTensor(name, entry.Shape)]).Get(name);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MobileViT.Compiled.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Run the benchmarks from inside the MobileViT.Compiled repository.");
    }
}
