namespace MobileViT.Compiled;

/// <summary>
/// What every generated class implements, classifier, segmenter or feature extractor: its input and its layers.
/// <see cref="ICompiledModel"/> adds Run (logits); <see cref="IFeatureExtractor"/> adds RunFeatures (pooled features).
/// </summary>
public interface ICompiledNetwork : IDisposable
{
    /// <summary>The model's name (its folder name, e.g. "mobilevit-small").</summary>
    string ModelName { get; }
    int InputChannels { get; }
    int InputHeight { get; }
    int InputWidth { get; }

    /// <summary>What each kernel call computes, with its shapes, in order.</summary>
    IReadOnlyList<string> LayerDescriptions { get; }

    /// <summary>Multiply-accumulates of each kernel call, in order.</summary>
    IReadOnlyList<long> LayerMultiplyAccumulates { get; }

    /// <summary>
    /// Where this instance reads its prepared weights and how large they are, e.g. "embedded resource (in place),
    /// 26.6 MB": in place in the binary, a mapped prepared file, or prepared in memory from a safetensors file.
    /// </summary>
    string WeightsResidence { get; }

    /// <summary>
    /// "fp32", or "int8" for a model compiled with Precision="int8" (its convolutions and linear layers from the third stage on, depthwise ones apart, in int8;
    /// <see cref="LayerDescriptions"/> says which layer runs in which).
    /// </summary>
    string Precision { get; }
}
