using System.Buffers;
using System.Text;
using System.Text.Json;
using MobileViT.Compiled;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Cli;

internal sealed record ClassifyOptions(IReadOnlyList<string> Paths, string Model, string? Weights, int TopK, bool Json, int Threads,
    long MaxPixels = RawImage.DefaultMaxPixels, string Precision = Precisions.Default);

/// <summary>`mobilevit image-or-folder...`: classifies every image and prints its top-K (text or JSON).</summary>
internal static class ClassifyCommand
{
    /// <summary>Runs with at least this many images show a progress bar (on a terminal).</summary>
    public const int ProgressThreshold = 20;

    public static int Run(ClassifyOptions options, TextWriter stdout, TextWriter stderr, Terminal terminal)
    {
        if (options.TopK < 1) throw new UsageException($"--top must be at least 1, not {options.TopK}");
        if (options.Threads < 0) throw new UsageException($"--threads must be 0 (all cores) or more, not {options.Threads}");
        CheckMaxPixels(options.MaxPixels);
        Precisions.Check(options.Precision);
        var entry = ModelCatalog.Get(options.Model);
        var preprocessor = PreprocessorFor(entry, options.Weights);

        ICompiledModel model;
        try { model = entry.Open(options.Weights, options.Threads, options.Precision); }
        catch (ModelLoadException e)
        {
            stderr.WriteLine($"error: cannot load the weights of {entry.Name}: {OneLine(e.Message)}");
            return ExitCodes.Failed;
        }
        using (model)
        {
            var classifier = new Classifier(model, preprocessor, options.MaxPixels);
            var files = ImageFiles.Expand(options.Paths);
            int failures = 0;
            IResultWriter writer = options.Json ? new JsonResultWriter(stdout) : new TextResultWriter(stdout, DisplayName(model));

            if (terminal.ShowsProgress && files.Count >= ProgressThreshold)
            {
                // The bar owns the terminal while it runs: answers and errors are printed when it is done.
                var results = new List<ClassifiedImage>(files.Count);
                var errors = new List<string>();
                terminal.RunWithProgress(DisplayName(model), files.Count, advance =>
                {
                    foreach (string file in files)
                    {
                        try { results.Add(classifier.Classify(file, options.TopK)); }
                        catch (ImageDecodeException e) { errors.Add(ErrorLine(file, e)); }
                        advance();
                    }
                });
                foreach (var result in results) writer.Write(result);
                writer.Finish();
                foreach (string error in errors) stderr.WriteLine(error);
                failures = errors.Count;
            }
            else
            {
                foreach (string file in files)
                {
                    try { writer.Write(classifier.Classify(file, options.TopK)); }
                    catch (ImageDecodeException e)
                    {
                        stderr.WriteLine(ErrorLine(file, e));
                        failures++;
                    }
                }
                writer.Finish();
            }
            return failures == 0 ? ExitCodes.Success : ExitCodes.Failed;
        }
    }

    /// <summary>
    /// The compiled-in preprocessing of the model, or the preprocessor_config.json next to the weights file when there
    /// is one (a model folder downloaded from the hub carries its own).
    /// </summary>
    public static PreprocessorConfig PreprocessorFor(ModelEntry entry, string? weights) => PreprocessorFor(entry.Preprocessor, weights);

    /// <summary>The preprocessor_config.json next to the weights file when there is one, else the compiled-in one.</summary>
    public static PreprocessorConfig PreprocessorFor(PreprocessorConfig compiledIn, string? weights)
    {
        if (weights is null) return compiledIn;
        string? folder = Path.GetDirectoryName(Path.GetFullPath(weights));
        string candidate = Path.Combine(folder ?? ".", "preprocessor_config.json");
        if (!File.Exists(candidate)) return compiledIn;
        try { return PreprocessorConfig.Load(candidate); }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot use {candidate}: {OneLine(e.Message)}");
        }
    }

    /// <summary>The model's name, with " (int8)" when it is not the default fp32 (so fp32 output reads as before).</summary>
    internal static string DisplayName(ICompiledModel model) =>
        model.Precision == Precisions.Fp32 ? model.ModelName : $"{model.ModelName} ({model.Precision})";

    internal static void CheckMaxPixels(long maxPixels)
    {
        if (maxPixels is < 1 or > RawImage.MaxPixels)
            throw new UsageException($"--max-pixels must be from 1 to {RawImage.MaxPixels}, not {maxPixels}");
    }

    private static string ErrorLine(string file, Exception e) => $"error: {file}: {OneLine(e.Message)}";

    internal static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}

internal interface IResultWriter
{
    void Write(ClassifiedImage result);
    void Finish();
}

/// <summary>For people: the file, the time, then one line per label.</summary>
internal sealed class TextResultWriter(TextWriter output, string modelName) : IResultWriter
{
    public void Write(ClassifiedImage result)
    {
        output.WriteLine(FormattableString.Invariant($"{result.File}: {modelName}, {result.Milliseconds:F2} ms"));
        foreach (var p in result.Top)
            output.WriteLine(FormattableString.Invariant($"  {p.Probability * 100,6:F2} %  {p.Label} ({p.Index})"));
    }

    public void Finish() => output.Flush();
}

/// <summary>
/// For tools: one JSON array on standard output, one object per classified image:
/// <c>{"file": "...", "top": [{"index": 7, "label": "Sneaker", "probability": 0.93}, ...], "ms": 0.41}</c>.
/// Images that fail are not in the array (their error is on standard error). Written as it goes.
/// </summary>
internal sealed class JsonResultWriter(TextWriter output) : IResultWriter
{
    private bool _first = true;

    public void Write(ClassifiedImage result)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            json.WriteStartObject();
            json.WriteString("file", result.File);
            json.WriteStartArray("top");
            foreach (var p in result.Top)
            {
                json.WriteStartObject();
                json.WriteNumber("index", p.Index);
                json.WriteString("label", p.Label);
                json.WriteNumber("probability", Math.Round(p.Probability, 6));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNumber("ms", Math.Round(result.Milliseconds, 3));
            json.WriteEndObject();
        }
        output.Write(_first ? "[\n  " : ",\n  ");
        output.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        _first = false;
    }

    public void Finish()
    {
        output.WriteLine(_first ? "[]" : "\n]");
        output.Flush();
    }
}

internal static class ExitCodes
{
    public const int Success = 0;
    /// <summary>An image could not be classified, the weights could not be loaded, or the evaluation failed.</summary>
    public const int Failed = 1;
    /// <summary>The command line is wrong.</summary>
    public const int Usage = 2;
}
