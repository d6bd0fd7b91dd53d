namespace MobileViT.Compiled;

/// <summary>
/// Receives the output of each encoder stage during a generated model's internal Run overload: for finding the
/// first stage that differs from a reference's hidden_states. Not called by the public Run.
/// </summary>
public delegate void StageObserver(int stage, ReadOnlySpan<float> features, int channels, int height, int width);
