namespace MobileViT.Compiled.IO;

/// <summary>The validated tensors of one weights file, converted to float32, by safetensors name.</summary>
public sealed class WeightSet : ITensorSource
{
    private readonly Dictionary<string, float[]> _tensors;

    internal WeightSet(Dictionary<string, float[]> tensors, string source)
    {
        _tensors = tensors;
        Source = source;
    }

    /// <summary>Where the weights came from (a path or an embedded resource name).</summary>
    public string Source { get; }

    /// <summary>The data of a tensor named in the manifest the set was loaded against.</summary>
    public float[] Get(string name)
        => _tensors.TryGetValue(name, out var data)
            ? data
            : throw new ModelLoadException(Source, name, "was not loaded: it is not in the compiled manifest");

    ReadOnlySpan<float> ITensorSource.Get(string name) => Get(name);
}
