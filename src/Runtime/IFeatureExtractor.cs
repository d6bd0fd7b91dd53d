namespace MobileViT.Compiled;

/// <summary>
/// A compiled model that gives image features (embeddings): the global average pool of the last feature map, as
/// Hugging Face's MobileViTModel / MobileViTV2Model pooler_output. Every classifier implements it, and so does a
/// headless config (architectures ["MobileViTModel"] or ["MobileViTV2Model"]).
/// </summary>
public interface IFeatureExtractor : ICompiledNetwork
{
    /// <summary>Floats in one feature vector (the channels of the last feature map: 640 for mobilevit-small).</summary>
    int FeatureLength { get; }

    /// <summary>
    /// Runs the network up to the pool on one NCHW float32 image; no allocation. One instance serves one thread at a
    /// time: a concurrent call (of this or Run) throws <see cref="InvalidOperationException"/>.
    /// </summary>
    void RunFeatures(ReadOnlySpan<float> pixelValues, Span<float> features);
}
