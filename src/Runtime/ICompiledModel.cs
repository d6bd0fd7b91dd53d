namespace MobileViT.Compiled;

/// <summary>
/// What every generated model with an output (logits) implements, so tools can hold any compiled model (a CLI
/// choosing a model by name, tests over several models). The generated class's own static constants say the same at
/// compile time.
/// </summary>
public interface ICompiledModel : ICompiledNetwork
{
    int OutputLength { get; }
    IReadOnlyList<string> Labels { get; }

    /// <summary>Runs the model on one NCHW float32 image of InputChannels x InputHeight x InputWidth.</summary>
    void Run(ReadOnlySpan<float> pixelValues, Span<float> output);

    /// <summary>Runs the model and reports each encoder stage's output (to compare with a reference's hidden_states).</summary>
    void Run(ReadOnlySpan<float> pixelValues, Span<float> output, StageObserver? observer);

    /// <summary>
    /// Runs the model; a non-empty <paramref name="stepTimestamps"/> (LayerDescriptions.Count + 1 entries) receives
    /// Stopwatch.GetTimestamp() before the first kernel call and after each one: the per-layer profile.
    /// </summary>
    void Run(ReadOnlySpan<float> pixelValues, Span<float> output, StageObserver? observer, Span<long> stepTimestamps);
}
