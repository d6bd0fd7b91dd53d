using MobileViT.Compiled.Generator.Helpers;

namespace MobileViT.Compiled.Generator.Model;

/// <summary>The fields of a Hugging Face MobileViTConfig that shape the network, validated.</summary>
internal sealed record ModelConfig(
    string ModelType,
    string Architecture,
    int NumChannels,
    int ImageSize,
    int PatchSize,
    EquatableArray<int> HiddenSizes,
    EquatableArray<int> NeckHiddenSizes,
    int NumAttentionHeads,
    double MlpRatio,
    double ExpandRatio,
    string HiddenAct,
    int ConvKernelSize,
    int OutputStride,
    bool QkvBias,
    double LayerNormEps,
    EquatableArray<string> Labels,
    int AsppOutChannels,
    EquatableArray<int> AtrousRates,
    double WidthMultiplier,
    EquatableArray<int> BaseAttentionDims,
    EquatableArray<int> AttentionBlocks,
    double FfnMultiplier,
    TextLocation ImageSizeLocation)
{
    public const string Classification = "MobileViTForImageClassification";
    public const string Segmentation = "MobileViTForSemanticSegmentation";
    public const string V2Classification = "MobileViTV2ForImageClassification";
    public const string V2Segmentation = "MobileViTV2ForSemanticSegmentation";
    /// <summary>The backbone without a head: its output is the pooled features (pooler_output).</summary>
    public const string Features = "MobileViTModel";
    public const string V2Features = "MobileViTV2Model";

    /// <summary>MobileViTV2 (separable self-attention, GroupNorm, width multiplier) rather than MobileViT.</summary>
    public bool IsV2 => ModelType == "mobilevitv2";

    public bool IsSegmentation => Architecture is Segmentation or V2Segmentation;

    /// <summary>A backbone alone (MobileViTModel, MobileViTV2Model): features, no labels, no Run.</summary>
    public bool IsHeadless => Architecture is Features or V2Features;

    /// <summary>
    /// The safetensors prefix of the backbone's tensors: none for a headless backbone, whose save_pretrained writes
    /// its own tensor names; the base model's name inside a model with a head.
    /// </summary>
    public string Prefix => IsHeadless ? "" : IsV2 ? "mobilevitv2." : "mobilevit.";
}

/// <summary>One tensor of the weights manifest (the safetensors header).</summary>
/// <param name="Location">Where its entry is in model.safetensors (for diagnostics).</param>
internal sealed record TensorEntry(string Name, string DType, EquatableArray<long> Shape, long Begin, long End, TextLocation Location);

/// <summary>The weights manifest the build wrote for model.safetensors.</summary>
internal sealed record WeightsManifest(string WeightsPath, long FileLength, string Sha256, EquatableArray<TensorEntry> Tensors);

/// <summary>Everything parsed for one model: what lowering starts from.</summary>
internal sealed record ModelSpec(
    string ClassName,
    string Namespace,
    string ResourceName,
    string ModelName,
    string ConfigPath,
    ModelConfig Config,
    WeightsManifest? Weights,
    Precision Precision = Precision.Fp32);

/// <summary>The numbers a model computes in (the MobileViTModel item's Precision metadata).</summary>
internal enum Precision
{
    /// <summary>float32 throughout: the reference implementation's numbers.</summary>
    Fp32,
    /// <summary>
    /// The convolutions and linear layers from the third stage on in int8, depthwise ones apart (weights per output
    /// channel at build time, activations per pixel at run time); the rest in float (<see cref="Lowering.Quantization"/>).
    /// </summary>
    Int8,
}
