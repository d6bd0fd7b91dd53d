namespace MobileViT.Compiled.IO;

/// <summary>Float32 tensors by safetensors name: a loaded <see cref="WeightSet"/> or a memory-mapped file.</summary>
public interface ITensorSource
{
    /// <summary>Where the tensors come from (a path or a resource name), for error messages.</summary>
    string Source { get; }

    /// <summary>The data of a tensor; valid while the source is.</summary>
    /// <exception cref="ModelLoadException">The tensor was not validated by this source.</exception>
    ReadOnlySpan<float> Get(string name);
}
