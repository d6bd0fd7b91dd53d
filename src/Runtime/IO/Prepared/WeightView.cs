namespace MobileViT.Compiled.IO;

/// <summary>
/// One entry of <see cref="PreparedWeights"/>, read in place: where it lies and how many floats. Valid while its
/// <see cref="PreparedWeights"/> is (the generated model keeps both and checks that it is not disposed before a run).
/// </summary>
public readonly unsafe struct WeightView
{
    private readonly float* _data;

    internal WeightView(float* data, int length)
    {
        _data = data;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<float> Span => new(_data, Length);

    public static implicit operator ReadOnlySpan<float>(WeightView view) => view.Span;
}
