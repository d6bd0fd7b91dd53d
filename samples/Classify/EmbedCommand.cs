using System.Globalization;
using System.Text;
using System.Text.Json;
using MobileViT.Compiled;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Cli;

internal sealed record EmbedOptions(IReadOnlyList<string> Paths, string Model, string? Weights, bool Json, string? Npy, int Threads,
    long MaxPixels = RawImage.DefaultMaxPixels, string Precision = Precisions.Default);

internal sealed record SimilarOptions(string Query, string Folder, string Model, string? Weights, int TopK, int Threads,
    long MaxPixels = RawImage.DefaultMaxPixels, string Precision = Precisions.Default);

/// <summary>
/// `mobilevit embed` (each image's features: text, JSON or a .npy array) and `mobilevit similar` (the images of a folder
/// ranked by the cosine similarity of their features to a query image's). Features are RunFeatures' pooled features.
/// </summary>
internal static class EmbedCommand
{
    public static int Embed(EmbedOptions options, TextWriter stdout, TextWriter stderr)
    {
        if (options.Json && options.Npy is not null) throw new UsageException("--json and --npy are alternatives: give one of them");
        using var embedder = Open(options.Model, options.Weights, options.Threads, options.MaxPixels, options.Precision, stderr);
        if (embedder is null) return ExitCodes.Failed;
        var (embedded, failures) = EmbedAll(embedder.Embedder, ImageFiles.Expand(options.Paths), stderr);
        if (options.Npy is not null)
        {
            try { NpyFile.Write(options.Npy, embedded.Select(e => e.Features).ToList(), embedder.Embedder.Model.FeatureLength); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"error: cannot write {options.Npy}: {ClassifyCommand.OneLine(e.Message)}");
                return ExitCodes.Failed;
            }
            // The array's rows, in order: which file each row is.
            foreach (var image in embedded) stdout.WriteLine(image.File);
        }
        else if (options.Json) stdout.Write(Json(embedded));
        else
        {
            foreach (var image in embedded)
                stdout.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0}: {1} features, L2 norm {2:F4}, {3:F2} ms",
                    image.File, image.Features.Length, Math.Sqrt(Dot(image.Features, image.Features)), image.Milliseconds));
        }
        return failures == 0 ? ExitCodes.Success : ExitCodes.Failed;
    }

    public static int Similar(SimilarOptions options, TextWriter stdout, TextWriter stderr)
    {
        if (options.TopK < 1) throw new UsageException($"--top must be at least 1, not {options.TopK}");
        if (!Directory.Exists(options.Folder)) throw new UsageException($"{options.Folder} is not a folder");
        using var embedder = Open(options.Model, options.Weights, options.Threads, options.MaxPixels, options.Precision, stderr);
        if (embedder is null) return ExitCodes.Failed;
        EmbeddedImage query;
        try { query = embedder.Embedder.Embed(options.Query); }
        catch (ImageDecodeException e)
        {
            stderr.WriteLine($"error: {options.Query}: {ClassifyCommand.OneLine(e.Message)}");
            return ExitCodes.Failed;
        }
        var (embedded, failures) = EmbedAll(embedder.Embedder, ImageFiles.Expand([options.Folder]), stderr);
        var ranked = embedded.Select(e => (e.File, Similarity: Embedder.Cosine(query.Features, e.Features)))
            .OrderByDescending(r => r.Similarity).ThenBy(r => r.File, StringComparer.Ordinal).Take(options.TopK);
        foreach (var (file, similarity) in ranked)
            stdout.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,8:F4}  {1}", similarity, file));
        return failures == 0 ? ExitCodes.Success : ExitCodes.Failed;
    }

    /// <summary>A model instance and its embedder, disposed together; null (the error printed) when the weights do not load.</summary>
    private static OwnedEmbedder? Open(string modelName, string? weights, int threads, long maxPixels, string precision, TextWriter stderr)
    {
        if (threads < 0) throw new UsageException($"--threads must be 0 (all cores) or more, not {threads}");
        ClassifyCommand.CheckMaxPixels(maxPixels);
        Precisions.Check(precision);
        var entry = ModelCatalog.Get(modelName);
        var preprocessor = ClassifyCommand.PreprocessorFor(entry, weights);
        ICompiledModel model;
        try { model = entry.Open(weights, threads, precision); }
        catch (ModelLoadException e)
        {
            stderr.WriteLine($"error: cannot load the weights of {entry.Name}: {ClassifyCommand.OneLine(e.Message)}");
            return null;
        }
        // Every compiled classifier is also a feature extractor (the generator gives it RunFeatures).
        return new OwnedEmbedder(model, new Embedder((IFeatureExtractor)model, preprocessor, maxPixels));
    }

    private sealed class OwnedEmbedder(ICompiledModel owner, Embedder embedder) : IDisposable
    {
        public Embedder Embedder => embedder;
        public void Dispose() => owner.Dispose();
    }

    private static (List<EmbeddedImage> Embedded, int Failures) EmbedAll(Embedder embedder, List<string> files, TextWriter stderr)
    {
        var embedded = new List<EmbeddedImage>(files.Count);
        int failures = 0;
        foreach (string file in files)
        {
            try { embedded.Add(embedder.Embed(file)); }
            catch (ImageDecodeException e)
            {
                stderr.WriteLine($"error: {file}: {ClassifyCommand.OneLine(e.Message)}");
                failures++;
            }
        }
        return (embedded, failures);
    }

    /// <summary>One JSON array: <c>[{"file": "...", "features": [0.12, ...], "ms": 0.4}, ...]</c>; float values round-trip.</summary>
    private static string Json(List<EmbeddedImage> embedded)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            json.WriteStartArray();
            foreach (var image in embedded)
            {
                json.WriteStartObject();
                json.WriteString("file", image.File);
                json.WriteStartArray("features");
                foreach (float value in image.Features) json.WriteNumberValue(value);
                json.WriteEndArray();
                json.WriteNumber("ms", Math.Round(image.Milliseconds, 3));
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static double Dot(float[] a, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return sum;
    }
}
