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
}
