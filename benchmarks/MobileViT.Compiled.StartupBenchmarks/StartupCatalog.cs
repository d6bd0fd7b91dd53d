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

    public static string RepoRoot => FixtureFiles.RepoRoot;

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

    /// <summary>The same fixture input as ModelCatalog.Input.</summary>
    public float[] Input() => FixtureFiles.Input(Name);
}
