using System.Reflection;
using MobileViT.Compiled;
using MobileViT.Compiled.Imaging;
using MobileViT.Cli.Models;

namespace MobileViT.Cli;

/// <summary>A model the app can run: its command-line name, how to make an instance, and its preprocessing.</summary>
internal sealed record ModelEntry(
    string Name,
    string ModelName,
    string Description,
    bool HasEmbeddedWeights,
    Func<int, ICompiledModel>? Create,
    Func<string, int, ICompiledModel> Load)
{
    /// <summary>
    /// The model with its embedded weights, or with <paramref name="weights"/> (a safetensors file) when given.
    /// </summary>
    /// <exception cref="ModelLoadException">The weights are missing, corrupt or of another architecture.</exception>
    /// <exception cref="UsageException">The model has no embedded weights and none were given.</exception>
    public ICompiledModel Open(string? weights, int threads)
    {
        if (weights is not null) return Load(weights, threads);
        if (Create is null)
            throw new UsageException($"the model '{Name}' is compiled without weights: pass --weights model.safetensors (from the Hugging Face model apple/{ModelName})");
        return Create(threads);
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
            true, t => FashionMobileViT.Create(t), (p, t) => FashionMobileViT.Load(p, t)),
        new("mobilevit-xx-small", MobileViTXXSmall.ModelName,
            "MobileViT-XXS, ImageNet-1k (3x256x256); needs --weights from apple/mobilevit-xx-small",
            false, null, (p, t) => MobileViTXXSmall.Load(p, t)),
        new("mobilevit-x-small", MobileViTXSmall.ModelName,
            "MobileViT-XS, ImageNet-1k (3x256x256); needs --weights from apple/mobilevit-x-small",
            false, null, (p, t) => MobileViTXSmall.Load(p, t)),
        new("mobilevit-small", MobileViTSmall.ModelName,
            "MobileViT-S, ImageNet-1k (3x256x256); needs --weights from apple/mobilevit-small",
            false, null, (p, t) => MobileViTSmall.Load(p, t)),
    ];

    public static string[] Names { get; } = All.Select(m => m.Name).ToArray();

    public static ModelEntry Get(string name) =>
        All.FirstOrDefault(m => m.Name == name || m.ModelName == name)
        ?? throw new UsageException($"unknown model '{name}': one of {string.Join(", ", Names)}");

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
