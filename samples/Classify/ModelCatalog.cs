using System.Reflection;
using MobileViT.Compiled;
using MobileViT.Compiled.Imaging;
using MobileViT.Cli.Models;

namespace MobileViT.Cli;

/// <summary>The numeric precisions every model of the catalog is compiled in (the --precision option).</summary>
internal static class Precisions
{
    public const string Fp32 = "fp32";
    /// <summary>The 1x1 convolutions and linear layers in int8, the rest in float (the generator's Precision="int8").</summary>
    public const string Int8 = "int8";
    public const string Default = Fp32;
    public static string[] All { get; } = [Fp32, Int8];

    /// <exception cref="UsageException">Not one of <see cref="All"/>.</exception>
    public static string Check(string precision) => All.Contains(precision)
        ? precision
        : throw new UsageException($"unknown precision '{precision}': one of {string.Join(", ", All)}");
}

/// <summary>One compiled class of a model: how to make an instance with its embedded weights (null when it embeds none) or from a safetensors file.</summary>
internal sealed record CompiledVariant(string Precision, Func<int, ICompiledModel>? Create, Func<string, int, ICompiledModel> Load);

/// <summary>A model the app can run: its command-line name, its compiled class per precision, and its preprocessing.</summary>
internal sealed record ModelEntry(string Name, string ModelName, string Description, CompiledVariant Fp32, CompiledVariant Int8)
{
    /// <summary>Whether the model runs without --weights (the same in both precisions).</summary>
    public bool HasEmbeddedWeights => Fp32.Create is not null;

    /// <exception cref="UsageException">Not a precision of <see cref="Precisions.All"/>.</exception>
    public CompiledVariant Variant(string precision) => Precisions.Check(precision) == Precisions.Int8 ? Int8 : Fp32;

    /// <summary>
    /// The model in <paramref name="precision"/> with its embedded weights, or with <paramref name="weights"/> (a
    /// safetensors file) when given; int8 weights are prepared from the float file at load time.
    /// </summary>
    /// <exception cref="ModelLoadException">The weights are missing, corrupt or of another architecture.</exception>
    /// <exception cref="UsageException">The model has no embedded weights and none were given, or the precision is unknown.</exception>
    public ICompiledModel Open(string? weights, int threads, string precision = Precisions.Default)
    {
        var variant = Variant(precision);
        if (weights is not null) return variant.Load(weights, threads);
        if (variant.Create is null)
            throw new UsageException($"the model '{Name}' is compiled without weights: pass --weights model.safetensors (from the Hugging Face model apple/{ModelName})");
        return variant.Create(threads);
    }

    /// <summary>The preprocessing compiled into the app (the model's preprocessor_config.json).</summary>
    public PreprocessorConfig Preprocessor { get; } = ModelCatalog.ReadPreprocessor(ModelName);
}

internal static class ModelCatalog
{
    public const string DefaultModel = "fashion";

    public static IReadOnlyList<ModelEntry> All { get; } =
    [
        new("fashion", FashionMobileViT.ModelName,
            "MobileViT-XXS trained on Fashion-MNIST (1x64x64 grayscale, 10 classes); weights embedded",
            Embedded(FashionMobileViT.Precision, t => FashionMobileViT.Create(t), (p, t) => FashionMobileViT.Load(p, t)),
            Embedded(FashionMobileViTInt8.Precision, t => FashionMobileViTInt8.Create(t), (p, t) => FashionMobileViTInt8.Load(p, t))),
        new("mobilevit-xx-small", MobileViTXXSmall.ModelName,
            "MobileViT-XXS, ImageNet-1k (3x256x256); needs --weights from apple/mobilevit-xx-small",
            FromFile(MobileViTXXSmall.Precision, (p, t) => MobileViTXXSmall.Load(p, t)),
            FromFile(MobileViTXXSmallInt8.Precision, (p, t) => MobileViTXXSmallInt8.Load(p, t))),
        new("mobilevit-x-small", MobileViTXSmall.ModelName,
            "MobileViT-XS, ImageNet-1k (3x256x256); needs --weights from apple/mobilevit-x-small",
            FromFile(MobileViTXSmall.Precision, (p, t) => MobileViTXSmall.Load(p, t)),
            FromFile(MobileViTXSmallInt8.Precision, (p, t) => MobileViTXSmallInt8.Load(p, t))),
        new("mobilevit-small", MobileViTSmall.ModelName,
            "MobileViT-S, ImageNet-1k (3x256x256); needs --weights from apple/mobilevit-small",
            FromFile(MobileViTSmall.Precision, (p, t) => MobileViTSmall.Load(p, t)),
            FromFile(MobileViTSmallInt8.Precision, (p, t) => MobileViTSmallInt8.Load(p, t))),
    ];

    public static string[] Names { get; } = All.Select(m => m.Name).ToArray();

    public static ModelEntry Get(string name) =>
        All.FirstOrDefault(m => m.Name == name || m.ModelName == name)
        ?? throw new UsageException($"unknown model '{name}': one of {string.Join(", ", Names)}");

    private static CompiledVariant Embedded(string precision, Func<int, ICompiledModel> create, Func<string, int, ICompiledModel> load) => new(precision, create, load);

    private static CompiledVariant FromFile(string precision, Func<string, int, ICompiledModel> load) => new(precision, null, load);

    internal static PreprocessorConfig ReadPreprocessor(string modelName)
    {
        string resource = $"preprocessor/{modelName}.json";
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the resource {resource} is missing from the app");
        using var reader = new StreamReader(stream);
        return PreprocessorConfig.Parse(reader.ReadToEnd());
    }
}

/// <summary>A mistake in how the app was called; reported as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
