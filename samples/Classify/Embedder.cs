using System.Diagnostics;
using MobileViT.Compiled;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Cli;

/// <summary>One image's features (embedding) and the time RunFeatures took.</summary>
internal sealed record EmbeddedImage(string File, float[] Features, double Milliseconds);

/// <summary>Decodes images, preprocesses them for one model instance and runs its RunFeatures.</summary>
internal sealed class Embedder(IFeatureExtractor model, PreprocessorConfig preprocessor, long maxPixels = RawImage.DefaultMaxPixels)
{
    private readonly float[] _input = new float[model.InputChannels * model.InputHeight * model.InputWidth];

    public IFeatureExtractor Model => model;

    /// <exception cref="ImageDecodeException">The image cannot be read or does not fit the model's preprocessing.</exception>
    public EmbeddedImage Embed(string file)
    {
        var image = ImageDecoder.Decode(file, maxPixels);
        try { ImagePreprocessor.Run(image, preprocessor, model.InputChannels, model.InputHeight, model.InputWidth, _input); }
        catch (ArgumentException e) { throw new ImageDecodeException(e.Message, e); }
        var features = new float[model.FeatureLength];
        long start = Stopwatch.GetTimestamp();
        model.RunFeatures(_input, features);
        return new EmbeddedImage(file, features, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    /// <summary>Cosine similarity, in double: 1 for the same direction, 0 for orthogonal; 0 when either vector is zero.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"vectors of {a.Length} and {b.Length} values");
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }
        return aa == 0 || bb == 0 ? 0 : dot / Math.Sqrt(aa * bb);
    }
}
