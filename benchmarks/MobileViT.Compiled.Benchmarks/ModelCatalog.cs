using MobileViT.Compiled.Benchmarks.Models;
using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>The models compiled into the benchmarks, their ONNX exports and a fixture input for each.</summary>
internal static class ModelCatalog
{
    public static string RepoRoot => FixtureFiles.RepoRoot;

    /// <summary>The model compiled in fp32, or with <see cref="Int8Suffix"/> ("mobilevit-small-int8") in int8.</summary>
    public static ICompiledModel Create(string model, int threads) => model switch
    {
        _ when model.EndsWith(Int8Suffix, StringComparison.Ordinal) => CreateInt8(model[..^Int8Suffix.Length], threads),
        "mobilevit-xx-small" => MobileViTXXSmall.Create(threads),
        "mobilevit-x-small" => MobileViTXSmall.Create(threads),
        "mobilevit-small" => MobileViTSmall.Create(threads),
        "mobilevit-xx-small-fashion" => FashionMobileViT.Create(threads),
        "deeplabv3-mobilevit-xx-small" => DeepLabV3MobileViTXXSmall.Create(threads),
        "mobilevitv2-0.5" => MobileViTV2Half.Create(threads),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "not compiled into the benchmarks"),
    };

    /// <summary>A model name's suffix that selects its int8 build (for `profile mobilevit-small-int8`).</summary>
    public const string Int8Suffix = "-int8";

    /// <summary>The models also compiled with Precision="int8" (the 1x1 convolutions and linear layers in int8).</summary>
    public static readonly string[] Int8Models =
        ["mobilevit-xx-small", "mobilevit-x-small", "mobilevit-small", "deeplabv3-mobilevit-xx-small", "mobilevit-xx-small-fashion"];

    /// <summary>The same folder compiled with Precision="int8".</summary>
    public static ICompiledModel CreateInt8(string model, int threads) => model switch
    {
        "mobilevit-xx-small" => MobileViTXXSmallInt8.Create(threads),
        "mobilevit-x-small" => MobileViTXSmallInt8.Create(threads),
        "mobilevit-small" => MobileViTSmallInt8.Create(threads),
        "mobilevit-xx-small-fashion" => FashionMobileViTInt8.Create(threads),
        "deeplabv3-mobilevit-xx-small" => DeepLabV3MobileViTXXSmallInt8.Create(threads),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "not compiled in int8 into the benchmarks"),
    };

    /// <summary>
    /// The same model with its weights mapped from a prepared file (page-aligned, so every entry starts on a cache line),
    /// prepared from the fixture's safetensors into artifacts/prepared on first use: the in-place embedded weights'
    /// alignment is whatever the linker gave them, and comparing the two measures what that costs.
    /// </summary>
    public static ICompiledModel LoadMapped(string model, int threads)
    {
        string safetensors = Path.Combine(RepoRoot, "tests", "fixtures", "models", model, "model.safetensors");
        string prepared = Path.Combine(RepoRoot, "artifacts", "prepared", model + ".prepared");
        return model switch
        {
            "mobilevit-xx-small" => MobileViTXXSmall.Load(safetensors, threads, prepared),
            "mobilevit-x-small" => MobileViTXSmall.Load(safetensors, threads, prepared),
            "mobilevit-small" => MobileViTSmall.Load(safetensors, threads, prepared),
            "mobilevit-xx-small-fashion" => FashionMobileViT.Load(safetensors, threads, prepared),
            "deeplabv3-mobilevit-xx-small" => DeepLabV3MobileViTXXSmall.Load(safetensors, threads, prepared),
            "mobilevitv2-0.5" => MobileViTV2Half.Load(safetensors, threads, prepared),
            _ => throw new ArgumentOutOfRangeException(nameof(model), model, "not compiled into the benchmarks"),
        };
    }

    public static string OnnxPath(string model) => Path.Combine(RepoRoot, "benchmarks", "onnx", model + ".onnx");

    /// <summary>The ONNX export's output shape: [1, labels] for a classifier, [1, labels, height, width] for segmentation.</summary>
    public static long[] OutputShape(ICompiledModel model) => model is DeepLabV3MobileViTXXSmall
        ? [1, DeepLabV3MobileViTXXSmall.OutputChannels, DeepLabV3MobileViTXXSmall.OutputHeight, DeepLabV3MobileViTXXSmall.OutputWidth]
        : [1, model.OutputLength];

    /// <summary>The reference input of the model's size (<see cref="FixtureFiles.Input"/>).</summary>
    public static float[] Input(string model) =>
        FixtureFiles.Input(model.EndsWith(Int8Suffix, StringComparison.Ordinal) ? model[..^Int8Suffix.Length] : model);
}
