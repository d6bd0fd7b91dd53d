using MobileViT.Compiled.Benchmarks.Models;
using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// The four models compiled in, with shapes from the generated constants (so an ONNX Runtime probe never touches our
/// model), their ONNX exports and the same fixture inputs as ModelCatalog.cs.
/// </summary>
internal sealed record StartupModel(string Name, Func<int, ICompiledModel> Create, long[] InputShape, long[] OutputShape)
{
    public static readonly string[] Names = ["mobilevit-xx-small", "mobilevit-x-small", "mobilevit-small", "deeplabv3-mobilevit-xx-small"];

    public static readonly string RepoRoot = FindRepoRoot();

    public bool Segmentation => OutputShape.Length == 4;

    public int OutputLength => (int)(OutputShape.Aggregate(1L, (a, b) => a * b));

    public string OnnxPath => Path.Combine(RepoRoot, "benchmarks", "onnx", Name + ".onnx");

    public static StartupModel Get(string name) => name switch
    {
        "mobilevit-xx-small" => new(name, t => MobileViTXXSmall.Create(t),
            [1, MobileViTXXSmall.InputChannels, MobileViTXXSmall.InputHeight, MobileViTXXSmall.InputWidth], [1, MobileViTXXSmall.OutputLength]),
        "mobilevit-x-small" => new(name, t => MobileViTXSmall.Create(t),
            [1, MobileViTXSmall.InputChannels, MobileViTXSmall.InputHeight, MobileViTXSmall.InputWidth], [1, MobileViTXSmall.OutputLength]),
        "mobilevit-small" => new(name, t => MobileViTSmall.Create(t),
            [1, MobileViTSmall.InputChannels, MobileViTSmall.InputHeight, MobileViTSmall.InputWidth], [1, MobileViTSmall.OutputLength]),
        "deeplabv3-mobilevit-xx-small" => new(name, t => DeepLabV3MobileViTXXSmall.Create(t),
            [1, DeepLabV3MobileViTXXSmall.InputChannels, DeepLabV3MobileViTXXSmall.InputHeight, DeepLabV3MobileViTXXSmall.InputWidth],
            [1, DeepLabV3MobileViTXXSmall.OutputChannels, DeepLabV3MobileViTXXSmall.OutputHeight, DeepLabV3MobileViTXXSmall.OutputWidth]),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not compiled into the start-up benchmark"),
    };

    /// <summary>As ModelCatalog.Input: the 512x512 photo for the segmentation model, input.rand0 for the 256x256 ones.</summary>
    public float[] Input() => Segmentation
        ? Read(Path.Combine(RepoRoot, "tests", "fixtures", "inputs", "inputs-512.safetensors"), "input.photo_chelsea")
        : Read(Path.Combine(RepoRoot, "tests", "fixtures", "inputs", "inputs-256.safetensors"), "input.rand0");

    private static float[] Read(string file, string name)
    {
        using var stream = File.OpenRead(file);
        var entry = SafetensorsHeader.Read(stream, file).Entries[name];
        return WeightLoader.Load(stream, file, [new ExpectedTensor(name, entry.Shape)]).Get(name);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MobileViT.Compiled.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Run the benchmark from inside the MobileViT.Compiled repository.");
    }
}
