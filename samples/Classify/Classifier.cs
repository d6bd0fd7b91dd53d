using System.Diagnostics;
using MobileViT.Compiled;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Cli;

/// <summary>One label of an image's top-K: class index, label and softmax probability.</summary>
internal readonly record struct Prediction(int Index, string Label, double Probability);

/// <summary>The answer for one image: its top-K and the time the model's Run took.</summary>
internal sealed record ClassifiedImage(string File, IReadOnlyList<Prediction> Top, double Milliseconds);

/// <summary>Decodes images (at most <paramref name="maxPixels"/> pixels each), preprocesses them for one model instance and runs it.</summary>
internal sealed class Classifier(ICompiledModel model, PreprocessorConfig preprocessor, long maxPixels = RawImage.DefaultMaxPixels)
{
    private readonly float[] _input = new float[model.InputChannels * model.InputHeight * model.InputWidth];
    private readonly float[] _logits = new float[model.OutputLength];

    public ICompiledModel Model => model;

    /// <summary>Decodes, preprocesses and classifies one file.</summary>
    /// <exception cref="ImageDecodeException">The image cannot be read or does not fit the model's preprocessing.</exception>
    public ClassifiedImage Classify(string file, int topK)
    {
        var image = ImageDecoder.Decode(file, maxPixels);
        try { ImagePreprocessor.Run(image, preprocessor, model.InputChannels, model.InputHeight, model.InputWidth, _input); }
        catch (ArgumentException e) { throw new ImageDecodeException(e.Message, e); }
        var clock = Stopwatch.StartNew();
        model.Run(_input, _logits);
        double ms = clock.Elapsed.TotalMilliseconds;
        return new ClassifiedImage(file, Top(_logits, model.Labels, topK), ms);
    }

    /// <summary>The <paramref name="k"/> most probable classes (softmax over the logits), ties by the smaller index.</summary>
    public static Prediction[] Top(ReadOnlySpan<float> logits, IReadOnlyList<string> labels, int k)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        var probabilities = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += probabilities[i] = Math.Exp(logits[i] - max);
        for (int i = 0; i < probabilities.Length; i++) probabilities[i] /= sum;
        var order = Enumerable.Range(0, logits.Length).ToArray();
        Array.Sort(order, (a, b) => probabilities[b].CompareTo(probabilities[a]) is var c && c != 0 ? c : a.CompareTo(b));
        return order.Take(Math.Min(k, order.Length)).Select(i => new Prediction(i, labels[i], probabilities[i])).ToArray();
    }

    /// <summary>Index of the largest logit (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
