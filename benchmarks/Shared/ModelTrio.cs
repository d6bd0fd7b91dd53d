namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// A model's int8 build (Precision="int8"), our fp32 build and ONNX Runtime (fp32) on the same weights, input and
/// thread count. Before anything is timed, fp32 is checked against ONNX Runtime as in <see cref="ModelPair"/>, and
/// int8 against fp32: the same top-1 label (for a segmentation model, per pixel: at least 75 % of the pixels, the floor
/// Int8AccuracyTests keeps; 78 % measured, the others where fp32's two best classes are close), and
/// the largest logit difference relative to the largest fp32 logit is reported (<see cref="Agreement"/>).
/// </summary>
internal sealed class ModelTrio : IDisposable
{
    /// <summary>Pixels of a segmentation map whose top-1 label int8 may change before the benchmark refuses to time it.</summary>
    private const double MaxChangedPixels = 0.25;

    private readonly float[] _input;
    private readonly float[] _int8Output;

    public ModelTrio(string model, int threads)
    {
        Pair = new ModelPair(model, threads);
        try
        {
            Int8 = ModelCatalog.CreateInt8(model, threads);
            if (Int8.Precision != "int8" || Pair.Ours.Precision != "fp32")
                throw new InvalidOperationException($"{model}: precisions are {Int8.Precision} and {Pair.Ours.Precision}, not int8 and fp32");
            _input = ModelCatalog.Input(model);
            _int8Output = new float[Int8.OutputLength];
            var fp32 = new float[Pair.Ours.OutputLength];
            Pair.Ours.Run(_input, fp32);
            RunInt8();
            Agreement = Compare(fp32, _int8Output, Pair.Ours.Labels.Count);
            if (Agreement.ChangedTop1 > (Agreement.Pixels == 1 ? 0 : MaxChangedPixels))
                throw new InvalidOperationException($"{model}: int8 and fp32 disagree: {Agreement}");
        }
        catch
        {
            Int8?.Dispose();
            Pair.Dispose();
            throw;
        }
    }

    public ModelPair Pair { get; }

    public ICompiledModel Int8 { get; }

    /// <summary>How the int8 logits compare with fp32's on the benchmark input.</summary>
    public Int8Agreement Agreement { get; }

    public void RunInt8() => Int8.Run(_input, _int8Output);

    public void Dispose()
    {
        Int8.Dispose();
        Pair.Dispose();
    }

    /// <summary>Top-1 per pixel (one pixel for a classifier; the output is labels x pixels) and the largest difference.</summary>
    private static Int8Agreement Compare(float[] fp32, float[] int8, int labels)
    {
        int pixels = fp32.Length / labels;
        int changed = 0;
        for (int p = 0; p < pixels; p++)
            if (ArgMax(fp32, p, pixels, labels) != ArgMax(int8, p, pixels, labels)) changed++;
        float maxDiff = 0, maxRef = 0;
        for (int i = 0; i < fp32.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(fp32[i] - int8[i]));
            maxRef = Math.Max(maxRef, Math.Abs(fp32[i]));
        }
        return new Int8Agreement(pixels, (double)changed / pixels, ArgMax(fp32, 0, pixels, labels), ArgMax(int8, 0, pixels, labels),
            maxDiff / maxRef, maxRef);
    }

    private static int ArgMax(float[] output, int pixel, int pixels, int labels)
    {
        int best = 0;
        for (int l = 1; l < labels; l++)
            if (output[l * pixels + pixel] > output[best * pixels + pixel]) best = l;
        return best;
    }
}

/// <summary>
/// int8 against fp32 on one input: the share of pixels (1 for a classifier) whose top-1 label differs, the top-1 of the
/// first pixel on both sides, and max |int8 - fp32| over all logits relative to the largest |fp32 logit|.
/// </summary>
internal sealed record Int8Agreement(int Pixels, double ChangedTop1, int Fp32Top1, int Int8Top1, double RelativeMaxDiff, double MaxFp32Logit)
{
    public override string ToString() => Pixels == 1
        ? $"top-1 fp32 {Fp32Top1}, int8 {Int8Top1}; max |diff| {RelativeMaxDiff:P2} of the largest fp32 logit ({MaxFp32Logit:F2})"
        : $"top-1 differs in {ChangedTop1:P2} of {Pixels} pixels; max |diff| {RelativeMaxDiff:P2} of the largest fp32 logit ({MaxFp32Logit:F2})";
}
