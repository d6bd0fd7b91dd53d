namespace MobileViT.Compiled;

/// <summary>
/// What every generated model class implements, so tools can hold any compiled model (a CLI choosing a model
/// by name, tests over several models). The generated class's own static constants say the same at compile time.
/// </summary>
public interface ICompiledModel : IDisposable
{
    /// <summary>The model's name (its folder name, e.g. "mobilevit-small").</summary>
    string ModelName { get; }
    int InputChannels { get; }
    int InputHeight { get; }
    int InputWidth { get; }
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

    /// <summary>What each kernel call of Run computes, with its shapes, in order.</summary>
    IReadOnlyList<string> LayerDescriptions { get; }

    /// <summary>Multiply-accumulates of each kernel call of Run, in order.</summary>
    IReadOnlyList<long> LayerMultiplyAccumulates { get; }
}
