using System;
using System.Collections.Generic;
using System.Globalization;
using MobileViT.Compiled.Generator.Helpers;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Parsing;

/// <summary>
/// config.json -> <see cref="ModelConfig"/>. Fields Hugging Face always writes are required; the rest take
/// MobileViTConfig's defaults. Every problem becomes a diagnostic naming the file, the field and the value.
/// </summary>
internal sealed class ConfigParser
{
    private const int MaxImageSize = 4096;
    private const int MaxChannels = 8192;
    private const int MaxLabels = 100_000;

    private readonly string _path;
    private readonly List<DiagnosticInfo> _diagnostics;
    private JsonObject _root = new();

    private ConfigParser(string path, List<DiagnosticInfo> diagnostics)
    {
        _path = path;
        _diagnostics = diagnostics;
    }

    public static ModelConfig? Parse(string path, string? text, List<DiagnosticInfo> diagnostics)
    {
        if (text is null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ConfigMissing, path, TextLocation.FileStart));
            return null;
        }
        return new ConfigParser(path, diagnostics).Parse(text);
    }

    private ModelConfig? Parse(string text)
    {
        JsonValue root;
        try
        {
            root = JsonParser.Parse(text);
        }
        catch (JsonParseException e)
        {
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ConfigNotJson, _path, TextLocation.At(e.Position, e.Line, e.Column), e.Message));
            return null;
        }
        if (root is not JsonObject rootObject)
        {
            WrongType("(root)", root, "a JSON object");
            return null;
        }
        _root = rootObject;
        int errorsBefore = _diagnostics.Count;

        string? declaredType = RequiredString("model_type", "MobileViT");
        string modelType = declaredType ?? "";
        bool v2 = modelType == "mobilevitv2";
        if (declaredType is not null && modelType != "mobilevit" && !v2)
        {
            var field = _root.Get("model_type")!;
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedModel, _path, TextLocation.Of(field), "model_type", modelType,
                "supported: 'mobilevit', 'mobilevitv2'"));
        }
        string architecture = ReadArchitecture(v2);

        int numChannels = Int("num_channels", 3, 1, 64);
        int imageSize = Int("image_size", 256, 1, MaxImageSize);
        int patchSize = Int("patch_size", 2, 1, 16);
        // MobileViT sizes its layers with explicit channel lists; MobileViTV2 with a width multiplier.
        var hidden = v2 ? Array.Empty<int>() : IntArray("hidden_sizes", 3, 1, MaxChannels);
        var neck = v2 ? Array.Empty<int>() : IntArray("neck_hidden_sizes", 7, 1, MaxChannels);
        int heads = v2 ? 1 : Int("num_attention_heads", 4, 1, 256);
        double mlpRatio = v2 ? 2.0 : Double("mlp_ratio", 2.0, 1e-3, 64);
        double expandRatio = Double("expand_ratio", v2 ? 2.0 : 4.0, 1e-3, 64);
        string hiddenAct = String("hidden_act", v2 ? "swish" : "silu");
        double widthMultiplier = v2 ? Double("width_multiplier", 1.0, 1e-3, 16) : 1.0;
        var attentionDims = !v2 ? Array.Empty<int>() : _root.Get("base_attn_unit_dims") is null ? new[] { 128, 192, 256 } : IntArray("base_attn_unit_dims", 3, 1, MaxChannels);
        var attentionBlocks = !v2 ? Array.Empty<int>() : _root.Get("n_attn_blocks") is null ? new[] { 2, 4, 3 } : IntArray("n_attn_blocks", 3, 0, 64);
        double ffnMultiplier = v2 ? Double("ffn_multiplier", 2.0, 1e-3, 64) : 0;
        int kernelSize = Int("conv_kernel_size", 3, 1, 15);
        int outputStride = Int("output_stride", 32, 1, 64);
        bool qkvBias = Bool("qkv_bias", true);
        double eps = Double("layer_norm_eps", 1e-5, 0, 1);
        var labels = architecture is ModelConfig.Features or ModelConfig.V2Features ? Array.Empty<string>() : ReadLabels(); // a backbone has no labels
        int asppChannels = Int("aspp_out_channels", 256, 1, MaxChannels);
        var atrousRates = _root.Get("atrous_rates") is null ? new[] { 6, 12, 18 } : IntArray("atrous_rates", 3, 1, 1024);
        bool segmentation = architecture is ModelConfig.Segmentation or ModelConfig.V2Segmentation;

        if (hiddenAct != "silu" && hiddenAct != "swish")
            Unsupported("hidden_act", Quote(hiddenAct), "MobileViT uses 'silu' (MobileViTV2 calls it 'swish')");
        if (kernelSize % 2 == 0)
            Invalid("conv_kernel_size", kernelSize.ToString(CultureInfo.InvariantCulture), "must be odd so that 'same' padding keeps the size");
        if (segmentation ? outputStride is not (8 or 16 or 32) : outputStride != 32)
            Unsupported("output_stride", outputStride.ToString(CultureInfo.InvariantCulture),
                segmentation ? "segmentation takes 8, 16 or 32" : "image classification uses 32 (8 and 16 are for segmentation)");
        if (hidden is not null)
        {
            foreach (int h in hidden)
                if (heads > 0 && h % heads != 0)
                {
                    Invalid("hidden_sizes", "[" + string.Join(", ", hidden) + "]", $"{h} is not divisible by num_attention_heads {heads}");
                    break;
                }
        }
        if (_diagnostics.Count > errorsBefore || hidden is null || neck is null || labels is null || atrousRates is null
            || attentionDims is null || attentionBlocks is null) return null;

        return new ModelConfig(modelType, architecture, numChannels, imageSize, patchSize, hidden.ToEquatableArray(), neck.ToEquatableArray(),
            heads, mlpRatio, expandRatio, hiddenAct, kernelSize, outputStride, qkvBias, eps, labels.ToEquatableArray(),
            asppChannels, atrousRates.ToEquatableArray(), widthMultiplier, attentionDims.ToEquatableArray(),
            attentionBlocks.ToEquatableArray(), ffnMultiplier, TextLocation.Of(_root.Get("image_size")));
    }

    private string ReadArchitecture(bool v2)
    {
        string Classification = v2 ? ModelConfig.V2Classification : ModelConfig.Classification;
        string Segmentation = v2 ? ModelConfig.V2Segmentation : ModelConfig.Segmentation;
        string Features = v2 ? ModelConfig.V2Features : ModelConfig.Features;
        var field = _root.Get("architectures");
        if (field is null || field is JsonLiteral { Value: null }) return Classification;
        if (field is not JsonArray array || array.Items.Count != 1 || array.Items[0] is not JsonString name)
        {
            WrongType("architectures", field, "an array of one class name");
            return Classification;
        }
        if (name.Value != Classification && name.Value != Segmentation && name.Value != Features)
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedModel, _path, TextLocation.Of(name), "architecture", name.Value,
                $"supported with this model_type: {Classification}, {Segmentation}, {Features}"));
        return name.Value;
    }

    private string[]? ReadLabels()
    {
        var field = _root.Get("id2label");
        if (field is null) return new[] { "LABEL_0", "LABEL_1" }; // MobileViTConfig's default num_labels = 2
        if (field is not JsonObject map)
        {
            WrongType("id2label", field, "an object mapping \"0\"..\"n-1\" to label names");
            return null;
        }
        if (map.Members.Count == 0 || map.Members.Count > MaxLabels)
        {
            Invalid("id2label", $"an object of {map.Members.Count} labels", $"a classifier needs 1 to {MaxLabels} labels");
            return null;
        }
        var labels = new string?[map.Members.Count];
        foreach (var member in map.Members)
        {
            if (!int.TryParse(member.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id >= labels.Length)
            {
                Invalid("id2label", Quote(member.Key), $"ids must be the integers 0..{labels.Length - 1}");
                return null;
            }
            if (member.Value is not JsonString label)
            {
                WrongType("id2label." + member.Key, member.Value, "a string");
                return null;
            }
            if (labels[id] is not null)
            {
                Invalid("id2label", Quote(member.Key), "the id appears twice");
                return null;
            }
            labels[id] = label.Value;
        }
        return labels!;
    }

    /// <summary>A missing field's place: the opening brace of the object it belongs in.</summary>
    private TextLocation ObjectStart => TextLocation.At(_root.Start, _root.Line, _root.Column);

    private string? RequiredString(string name, string modelKind)
    {
        var field = _root.Get(name);
        if (field is null)
        {
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ConfigFieldMissing, _path, ObjectStart, name, modelKind));
            return null;
        }
        if (field is JsonString s) return s.Value;
        WrongType(name, field, "a string");
        return null;
    }

    private string String(string name, string fallback)
    {
        var field = _root.Get(name);
        if (field is null) return fallback;
        if (field is JsonString s) return s.Value;
        WrongType(name, field, "a string");
        return fallback;
    }

    private bool Bool(string name, bool fallback)
    {
        var field = _root.Get(name);
        if (field is null) return fallback;
        if (field is JsonLiteral { Value: bool b }) return b;
        WrongType(name, field, "true or false");
        return fallback;
    }

    private int Int(string name, int fallback, int min, int max)
    {
        var field = _root.Get(name);
        return field is null ? fallback : ReadInt(name, field, min, max) ?? fallback;
    }

    private int? ReadInt(string name, JsonValue field, int min, int max)
    {
        if (field is not JsonNumber number)
        {
            WrongType(name, field, "an integer");
            return null;
        }
        double value = number.AsDouble;
        if (value != Math.Floor(value) || double.IsInfinity(value))
        {
            WrongType(name, field, "an integer");
            return null;
        }
        if (value < min || value > max)
        {
            Invalid(name, number.Text, $"must be between {min} and {max}", field);
            return null;
        }
        return (int)value;
    }

    private double Double(string name, double fallback, double exclusiveMin, double max)
    {
        var field = _root.Get(name);
        if (field is null) return fallback;
        if (field is not JsonNumber number)
        {
            WrongType(name, field, "a number");
            return fallback;
        }
        double value = number.AsDouble;
        if (!(value > exclusiveMin) || value > max)
        {
            Invalid(name, number.Text, $"must be greater than {exclusiveMin.ToString(CultureInfo.InvariantCulture)} and at most {max.ToString(CultureInfo.InvariantCulture)}", field);
            return fallback;
        }
        return value;
    }

    private int[]? IntArray(string name, int length, int min, int max)
    {
        var field = _root.Get(name);
        if (field is null)
        {
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ConfigFieldMissing, _path, ObjectStart, name, "MobileViT"));
            return null;
        }
        if (field is not JsonArray array)
        {
            WrongType(name, field, $"an array of {length} integers");
            return null;
        }
        if (array.Items.Count != length)
        {
            Invalid(name, $"an array of {array.Items.Count} values", $"MobileViT needs exactly {length}", field);
            return null;
        }
        var result = new int[length];
        for (int i = 0; i < length; i++)
        {
            int? value = ReadInt($"{name}[{i}]", array.Items[i], min, max);
            if (value is null) return null;
            result[i] = value.Value;
        }
        return result;
    }

    private void WrongType(string name, JsonValue field, string expected)
        => _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ConfigFieldWrongType, _path, TextLocation.Of(field),
            name, expected, Describe(field)));

    private void Invalid(string name, string value, string why, JsonValue? field = null)
    {
        field ??= _root.Get(name);
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ConfigValueInvalid, _path, TextLocation.Of(field), name, value, why));
    }

    private void Unsupported(string name, string value, string why)
    {
        var field = _root.Get(name);
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ConfigValueUnsupported, _path, TextLocation.Of(field), name, value, why));
    }

    private static string Describe(JsonValue value) => value switch
    {
        JsonString s => $"the string {Quote(s.Value)}",
        JsonNumber n => $"the number {n.Text}",
        JsonLiteral l => l.Value is null ? "null" : (l.Value.Value ? "true" : "false"),
        _ => "a JSON " + value.KindName,
    };

    private static string Quote(string value) => "\"" + (value.Length > 80 ? value.Substring(0, 80) + "..." : value) + "\"";
}
