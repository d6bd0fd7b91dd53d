namespace MobileViT.Compiled;

/// <summary>
/// Thrown when weights cannot be loaded: the file is missing, truncated, corrupt or hostile, or holds the weights
/// of another architecture. <see cref="Exception.Message"/> names the file, the tensor and what is wrong.
/// A model is never half-loaded: the factory method that threw returns no instance.
/// </summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(string source, string? tensor, string problem, Exception? inner = null)
        : base(tensor is null ? $"{source}: {problem}" : $"{source}: tensor '{tensor}': {problem}", inner)
    {
        Source = source;
        Tensor = tensor;
    }

    /// <summary>The weights file (or embedded resource) that was being read.</summary>
    public new string Source { get; }

    /// <summary>The tensor at fault, or null when the problem is the file as a whole.</summary>
    public string? Tensor { get; }
}
