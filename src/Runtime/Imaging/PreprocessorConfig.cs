using System.Globalization;
using System.Text.Json;

namespace MobileViT.Compiled.Imaging;

/// <summary>
/// The settings of a Hugging Face <c>preprocessor_config.json</c> for MobileViT (<c>MobileViTImageProcessor</c>),
/// with that processor's defaults for absent keys. <see cref="ImagePreprocessor"/> applies them.
/// </summary>
/// <remarks>
/// One key is this library's own: <c>"antialias"</c> (default true). True resizes the 8-bit image the way the
/// reference does (torchvision / PIL antialiased resampling, rounded back to 8 bits, then rescaled); false
/// rescales first and resizes the floats without antialiasing, like PyTorch's
/// <c>F.interpolate(mode="bilinear", align_corners=False)</c> (how the Fashion-MNIST fixture model was trained).
/// </remarks>
public sealed record PreprocessorConfig
{
    public bool DoResize { get; init; } = true;

    /// <summary>Resize so the shorter side is this long, keeping the aspect ratio (<c>size.shortest_edge</c>); 0 when <see cref="ResizeHeight"/>/<see cref="ResizeWidth"/> are used.</summary>
    public int ShortestEdge { get; init; } = 224;

    /// <summary>Resize to exactly this size (<c>size.height</c>/<c>size.width</c>); 0 when <see cref="ShortestEdge"/> is used.</summary>
    public int ResizeHeight { get; init; }
    public int ResizeWidth { get; init; }

    public Resampling Resample { get; init; } = Resampling.Bilinear;
    public bool Antialias { get; init; } = true;

    public bool DoCenterCrop { get; init; } = true;
    public int CropHeight { get; init; } = 256;
    public int CropWidth { get; init; } = 256;

    public bool DoRescale { get; init; } = true;
    public float RescaleFactor { get; init; } = 1f / 255f;

    /// <summary>RGB to BGR (the MobileViT checkpoints were trained on BGR input).</summary>
    public bool DoFlipChannelOrder { get; init; } = true;

    public bool DoNormalize { get; init; }
    public float[] ImageMean { get; init; } = [0f, 0f, 0f];
    public float[] ImageStd { get; init; } = [1f, 1f, 1f];

    /// <summary>Reads a preprocessor_config.json file.</summary>
    /// <exception cref="FormatException">The file is not valid JSON or a setting is invalid or unsupported (the message names the key).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static PreprocessorConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text = File.ReadAllText(path);
        try { return Parse(text); }
        catch (FormatException e) { throw new FormatException($"{path}: {e.Message}", e); }
    }

    /// <summary>Parses the text of a preprocessor_config.json.</summary>
    /// <exception cref="FormatException">Not valid JSON, or a setting is invalid or unsupported (the message names the key).</exception>
    public static PreprocessorConfig Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try { document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 16 }); }
        catch (JsonException e) { throw new FormatException($"not valid JSON: {e.Message}", e); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException("the preprocessor configuration is not a JSON object");
            var config = new PreprocessorConfig();

            config = config with { DoResize = Bool(root, "do_resize", config.DoResize) };
            if (root.TryGetProperty("size", out var size))
            {
                if (size.ValueKind == JsonValueKind.Number)
                    config = config with { ShortestEdge = Positive(size, "size"), ResizeHeight = 0, ResizeWidth = 0 };
                else if (size.ValueKind == JsonValueKind.Object)
                {
                    bool hasShortest = size.TryGetProperty("shortest_edge", out var shortest);
                    bool hasHeight = size.TryGetProperty("height", out var height);
                    bool hasWidth = size.TryGetProperty("width", out var width);
                    if (size.TryGetProperty("longest_edge", out var longest) && longest.ValueKind != JsonValueKind.Null)
                        throw new FormatException("size.longest_edge is not supported (MobileViT uses size.shortest_edge or size.height/width)");
                    if (hasShortest && !hasHeight && !hasWidth)
                        config = config with { ShortestEdge = Positive(shortest, "size.shortest_edge"), ResizeHeight = 0, ResizeWidth = 0 };
                    else if (!hasShortest && hasHeight && hasWidth)
                        config = config with { ShortestEdge = 0, ResizeHeight = Positive(height, "size.height"), ResizeWidth = Positive(width, "size.width") };
                    else
                        throw new FormatException("size must hold either shortest_edge or both height and width");
                }
                else throw new FormatException($"size must be an object or a number, not {size.ValueKind}");
            }

            if (root.TryGetProperty("resample", out var resample))
            {
                if (resample.ValueKind != JsonValueKind.Number || !resample.TryGetInt32(out int r))
                    throw new FormatException("resample must be an integer (PIL's numbering: 2 bilinear, 3 bicubic)");
                config = config with { Resample = r switch
                {
                    2 => Resampling.Bilinear,
                    3 => Resampling.Bicubic,
                    _ => throw new FormatException($"resample {r} is not supported: 2 (bilinear) and 3 (bicubic) are"),
                } };
            }
            config = config with { Antialias = Bool(root, "antialias", config.Antialias) };

            config = config with { DoCenterCrop = Bool(root, "do_center_crop", config.DoCenterCrop) };
            if (root.TryGetProperty("crop_size", out var crop) && crop.ValueKind != JsonValueKind.Null)
            {
                if (crop.ValueKind == JsonValueKind.Number)
                {
                    int side = Positive(crop, "crop_size");
                    config = config with { CropHeight = side, CropWidth = side };
                }
                else if (crop.ValueKind == JsonValueKind.Object && crop.TryGetProperty("height", out var ch) && crop.TryGetProperty("width", out var cw))
                    config = config with { CropHeight = Positive(ch, "crop_size.height"), CropWidth = Positive(cw, "crop_size.width") };
                else throw new FormatException("crop_size must be a number or an object with height and width");
            }

            config = config with { DoRescale = Bool(root, "do_rescale", config.DoRescale) };
            if (root.TryGetProperty("rescale_factor", out var factor))
            {
                if (factor.ValueKind != JsonValueKind.Number || !double.IsFinite(factor.GetDouble()) || factor.GetDouble() <= 0)
                    throw new FormatException($"rescale_factor must be a positive number, not {factor.GetRawText()}");
                config = config with { RescaleFactor = (float)factor.GetDouble() };
            }
            config = config with { DoFlipChannelOrder = Bool(root, "do_flip_channel_order", config.DoFlipChannelOrder) };
            config = config with { DoNormalize = Bool(root, "do_normalize", config.DoNormalize) };
            if (root.TryGetProperty("image_mean", out var mean) && mean.ValueKind != JsonValueKind.Null)
                config = config with { ImageMean = Floats(mean, "image_mean", allowZero: true) };
            if (root.TryGetProperty("image_std", out var std) && std.ValueKind != JsonValueKind.Null)
                config = config with { ImageStd = Floats(std, "image_std", allowZero: false) };
            return config;
        }
    }

    /// <summary>The (height, width) an image of the given size has after the resize step.</summary>
    public (int Height, int Width) ResizedSize(int height, int width)
    {
        if (!DoResize) return (height, width);
        if (ShortestEdge == 0) return (ResizeHeight, ResizeWidth);
        // transformers' get_resize_output_image_size(default_to_square=False): the long side is truncated, not rounded.
        if (height <= width) return (ShortestEdge, (int)((long)ShortestEdge * width / height));
        return ((int)((long)ShortestEdge * height / width), ShortestEdge);
    }

    /// <summary>The (height, width) of the preprocessed image for an input of the given size.</summary>
    public (int Height, int Width) OutputSize(int height, int width)
    {
        if (DoCenterCrop) return (CropHeight, CropWidth);
        return ResizedSize(height, width);
    }

    private static bool Bool(JsonElement root, string name, bool fallback)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new FormatException($"{name} must be true or false, not {value.GetRawText()}"),
        };
    }

    private static int Positive(JsonElement value, string name)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int n) || n <= 0 || n > RawImage.MaxDimension)
            throw new FormatException($"{name} must be an integer from 1 to {RawImage.MaxDimension}, not {value.GetRawText()}");
        return n;
    }

    private static float[] Floats(JsonElement value, string name, bool allowZero)
    {
        float[] result;
        if (value.ValueKind == JsonValueKind.Number) result = [(float)value.GetDouble(), (float)value.GetDouble(), (float)value.GetDouble()];
        else if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() is 1 or 3)
            result = value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number ? (float)e.GetDouble() : float.NaN).ToArray();
        else throw new FormatException($"{name} must be a number or an array of 1 or 3 numbers");
        foreach (float f in result)
            if (!float.IsFinite(f) || (!allowZero && f == 0))
                throw new FormatException($"{name} holds an invalid value ({string.Join(", ", result.Select(x => x.ToString(CultureInfo.InvariantCulture)))})");
        return result;
    }
}

/// <summary>Resampling filters, numbered as PIL numbers them (the <c>resample</c> key of preprocessor_config.json).</summary>
public enum Resampling
{
    Bilinear = 2,
    Bicubic = 3,
}
