using System.Diagnostics;
using System.Reflection;
using MobileViT.Compiled;
using MobileViT.Compiled.Imaging;
using MobileViT.Compiled.IO;

namespace MobileViT.Cli;

/// <summary>The Fashion-MNIST model on the test set: accuracy, agreement with the reference, speed.</summary>
internal sealed record FashionEvaluationResult(int Count, int Correct, int Agreeing, bool ReferenceApplies, int[] Predictions, double Seconds, int Workers)
{
    public double Accuracy => (double)Correct / Count;
    public double Agreement => (double)Agreeing / Count;
    public double ImagesPerSecond => Count / Seconds;
}

internal static class FashionEvaluation
{
    /// <summary>
    /// Classifies every image of <paramref name="data"/> (the first <paramref name="limit"/> when given) with
    /// <paramref name="workers"/> single-threaded model instances, each image preprocessed as the app preprocesses a
    /// 28x28 grayscale PNG (the fashion model's preprocessor_config.json), and compares with the labels and the
    /// reference's predictions.
    /// </summary>
    public static FashionEvaluationResult Run(FashionMnist data, Func<ICompiledModel> createSingleThreaded, PreprocessorConfig preprocessor,
        int workers, int limit, Terminal terminal, string description = "Fashion-MNIST test set")
    {
        int count = limit > 0 ? Math.Min(limit, data.Count) : data.Count;
        workers = Math.Clamp(workers, 1, count);
        var reference = ReferencePredictions();
        // The reference's predictions are for the standard test set in file order: compare only when the labels say it is that set.
        bool referenceApplies = data.Count == reference.Labels.Length && reference.Predictions.Length == reference.Labels.Length
            && data.Labels.AsSpan().SequenceEqual(reference.Labels.Select(l => (byte)l).ToArray());
        var predictions = new int[count];
        var models = new ICompiledModel[workers];
        try
        {
            for (int w = 0; w < workers; w++) models[w] = createSingleThreaded();
            int done = 0;
            var clock = Stopwatch.StartNew();
            var threads = new Task[workers];
            for (int w = 0; w < workers; w++)
            {
                int worker = w;
                threads[w] = Task.Factory.StartNew(() =>
                {
                    var model = models[worker];
                    var input = new float[model.InputChannels * model.InputHeight * model.InputWidth];
                    var logits = new float[model.OutputLength];
                    for (int i = worker; i < count; i += workers)
                    {
                        var image = new RawImage(data.Columns, data.Rows, 1, data.Image(i).ToArray());
                        ImagePreprocessor.Run(image, preprocessor, model.InputChannels, model.InputHeight, model.InputWidth, input);
                        model.Run(input, logits);
                        predictions[i] = Classifier.ArgMax(logits);
                        Interlocked.Increment(ref done);
                    }
                }, TaskCreationOptions.LongRunning);
            }
            terminal.RunWithProgress(description, count, () => Volatile.Read(ref done), Task.WhenAll(threads));
            double seconds = clock.Elapsed.TotalSeconds;
            int correct = 0, agreeing = 0;
            for (int i = 0; i < count; i++)
            {
                if (predictions[i] == data.Labels[i]) correct++;
                if (referenceApplies && predictions[i] == reference.Predictions[i]) agreeing++;
            }
            return new FashionEvaluationResult(count, correct, agreeing, referenceApplies, predictions, seconds, workers);
        }
        finally
        {
            foreach (var model in models) model?.Dispose();
        }
    }

    /// <summary>How many of two runs' predictions (of the same images, in order) are equal.</summary>
    public static int Agreeing(int[] a, int[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"{a.Length} and {b.Length} predictions");
        int same = 0;
        for (int i = 0; i < a.Length; i++) if (a[i] == b[i]) same++;
        return same;
    }

    /// <summary>The reference implementation's argmax and the labels for the 10,000 test images (embedded from the fixtures).</summary>
    public static (int[] Predictions, int[] Labels) ReferencePredictions()
    {
        const string resource = "fashion-reference.safetensors";
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the resource {resource} is missing from the app");
        var header = SafetensorsHeader.Read(stream, resource);
        return (ReadInt32(stream, header, "predictions.test"), ReadInt32(stream, header, "labels.test"));
    }

    private static int[] ReadInt32(Stream stream, SafetensorsHeader header, string name)
    {
        var entry = header.Entries[name];
        if (entry.DType != "I32") throw new InvalidDataException($"{name} is {entry.DType}, not I32");
        var bytes = new byte[entry.End - entry.Begin];
        stream.Position = header.DataStart + entry.Begin;
        stream.ReadExactly(bytes);
        var values = new int[bytes.Length / 4];
        for (int i = 0; i < values.Length; i++) values[i] = BitConverter.ToInt32(bytes, i * 4);
        return values;
    }
}
