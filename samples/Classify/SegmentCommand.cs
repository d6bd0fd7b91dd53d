using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MobileViT.Cli.Models;
using MobileViT.Compiled;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Cli;

internal sealed record SegmentOptions(string Image, string? Weights, string? Mask, string? Overlay, bool Json, int Threads,
    long MaxPixels = RawImage.DefaultMaxPixels);

/// <summary>
/// `mobilevit segment image --weights model.safetensors`: DeepLabV3-MobileViT-XXS semantic segmentation (PASCAL VOC,
/// 21 classes). The logits are upsampled to the image's size and argmaxed per pixel; the colour-coded mask and an
/// overlay on the photo are written as PNG, and each class's share of the pixels is printed.
/// </summary>
internal static class SegmentCommand
{
    public static int Run(SegmentOptions options, TextWriter stdout, TextWriter stderr)
    {
        if (options.Weights is null)
            throw new UsageException($"segment needs --weights model.safetensors (from the Hugging Face model apple/{DeepLabV3MobileViTXXSmall.ModelName})");
        if (options.Threads < 0) throw new UsageException($"--threads must be 0 (all cores) or more, not {options.Threads}");
        ClassifyCommand.CheckMaxPixels(options.MaxPixels);
        var preprocessor = ClassifyCommand.PreprocessorFor(ModelCatalog.ReadPreprocessor(DeepLabV3MobileViTXXSmall.ModelName), options.Weights);

        DeepLabV3MobileViTXXSmall model;
        try { model = DeepLabV3MobileViTXXSmall.Load(options.Weights, options.Threads); }
        catch (ModelLoadException e)
        {
            stderr.WriteLine($"error: cannot load the weights of {DeepLabV3MobileViTXXSmall.ModelName}: {ClassifyCommand.OneLine(e.Message)}");
            return ExitCodes.Failed;
        }
        using (model)
        {
            RawImage image;
            SegmentationResult result;
            try
            {
                image = ImageDecoder.Decode(options.Image, options.MaxPixels);
                result = Segment(model, preprocessor, image);
            }
            catch (ImageDecodeException e)
            {
                stderr.WriteLine($"error: {options.Image}: {ClassifyCommand.OneLine(e.Message)}");
                return ExitCodes.Failed;
            }
            try
            {
                if (options.Mask is not null) result.Map.WriteMask(options.Mask);
                if (options.Overlay is not null) result.Map.WriteOverlay(options.Overlay, image);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"error: cannot write the PNG: {ClassifyCommand.OneLine(e.Message)}");
                return ExitCodes.Failed;
            }
            stdout.Write(options.Json ? Json(options.Image, result) : Text(options.Image, result, options));
            return ExitCodes.Success;
        }
    }

    internal sealed record SegmentationResult(float[] Logits, SegmentationMap Map, double Milliseconds);

    /// <summary>Preprocesses, runs the model, and maps its logits back onto the image.</summary>
    internal static SegmentationResult Segment(DeepLabV3MobileViTXXSmall model, PreprocessorConfig preprocessor, RawImage image)
    {
        var input = new float[DeepLabV3MobileViTXXSmall.InputLength];
        try { ImagePreprocessor.Run(image, preprocessor, DeepLabV3MobileViTXXSmall.InputChannels, DeepLabV3MobileViTXXSmall.InputHeight, DeepLabV3MobileViTXXSmall.InputWidth, input); }
        catch (ArgumentException e) { throw new ImageDecodeException(e.Message, e); }
        var logits = new float[DeepLabV3MobileViTXXSmall.OutputLength];
        long start = Stopwatch.GetTimestamp();
        model.Run(input, logits);
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var map = SegmentationMap.FromLogits(logits, DeepLabV3MobileViTXXSmall.OutputChannels, DeepLabV3MobileViTXXSmall.OutputHeight,
            DeepLabV3MobileViTXXSmall.OutputWidth, image.Width, image.Height);
        return new SegmentationResult(logits, map, ms);
    }

    private static string Text(string file, SegmentationResult result, SegmentOptions options)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(string.Format(c, "{0}: {1}, {2}x{3} pixels, {4:F2} ms\n", file, DeepLabV3MobileViTXXSmall.ModelName, result.Map.Width, result.Map.Height, result.Milliseconds));
        var shares = result.Map.Shares();
        foreach (int i in Enumerable.Range(0, shares.Length).Where(i => shares[i] > 0).OrderByDescending(i => shares[i]))
            text.Append(string.Format(c, "  {0,6:F2} %  {1} ({2})\n", shares[i] * 100, DeepLabV3MobileViTXXSmall.Labels[i], i));
        if (options.Mask is not null) text.Append($"mask: {options.Mask}\n");
        if (options.Overlay is not null) text.Append($"overlay: {options.Overlay}\n");
        return text.ToString();
    }

    private static string Json(string file, SegmentationResult result)
    {
        var shares = result.Map.Shares();
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            json.WriteStartObject();
            json.WriteString("file", file);
            json.WriteNumber("width", result.Map.Width);
            json.WriteNumber("height", result.Map.Height);
            json.WriteStartArray("classes");
            foreach (int i in Enumerable.Range(0, shares.Length).Where(i => shares[i] > 0).OrderByDescending(i => shares[i]))
            {
                json.WriteStartObject();
                json.WriteNumber("index", i);
                json.WriteString("label", DeepLabV3MobileViTXXSmall.Labels[i]);
                json.WriteNumber("share", Math.Round(shares[i], 6));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNumber("ms", Math.Round(result.Milliseconds, 3));
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
