using System.Text;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using MobileViT.Compiled.Testing;
using static MobileViT.Compiled.Generator.Tests.Hardening.HostileFolder;

namespace MobileViT.Compiled.Generator.Tests.Hardening;

/// <summary>
/// The issue's list of malformed model folders, item by item: each fails the build with the project's own
/// diagnostic naming the file, the field or tensor and the offending value; none crashes the generator.
/// (DiagnosticTests has one case per diagnostic; this is the wider table.)
/// </summary>
public class BuildTimeHardeningTests
{
    private static string ConfigWith(string field, string json)
    {
        var config = Config();
        config[field] = JsonNode.Parse(json);
        return config.ToJsonString();
    }

    private static string ConfigWithout(string field)
    {
        var config = Config();
        config.Remove(field);
        return config.ToJsonString();
    }

    private static string HeaderWith(Action<JsonObject> change)
    {
        var header = Header();
        change(header);
        return Manifest(header.ToJsonString());
    }

    /// <summary>name -> (folder, expected ID, message parts).</summary>
    private static readonly Dictionary<string, (Func<ModelFolder> Folder, string Id, string[] Parts)> s_cases = new()
    {
        // config.json: not JSON, truncated
        ["config: empty file"] = (() => Folder(""), "MVC002", ["config.json", "end of input"]),
        ["config: not JSON"] = (() => Folder("model_type = mobilevit"), "MVC002", ["config.json", "not valid JSON"]),
        ["config: truncated mid-file"] = (() => Folder(ConfigText[..(ConfigText.Length / 2)]), "MVC002", ["config.json", "truncated"]),
        ["config: truncated by one byte"] = (() => Folder(ConfigText.TrimEnd()[..^1]), "MVC002", ["config.json", "truncated"]),
        ["config: NUL bytes"] = (() => Folder(new string('\0', 64)), "MVC002", ["config.json"]),
        ["config: NaN literal"] = (() => Folder(ConfigText.Replace("\"image_size\": 64", "\"image_size\": NaN")), "MVC002", ["config.json"]),
        ["config: nested 100000 deep"] = (() => Folder(new string('[', 100_000)), "MVC002", ["nesting deeper than"]),
        ["config: trailing garbage"] = (() => Folder(ConfigText + "}"), "MVC002", ["after the JSON value"]),
        // wrong types
        ["config: root is an array"] = (() => Folder("[1, 2]"), "MVC004", ["(root)", "a JSON array"]),
        ["config: image_size a string"] = (() => Folder(ConfigWith("image_size", "\"64\"")), "MVC004", ["'image_size'", "the string \"64\""]),
        ["config: image_size fractional"] = (() => Folder(ConfigWith("image_size", "64.5")), "MVC004", ["'image_size'", "64.5"]),
        ["config: num_attention_heads null"] = (() => Folder(ConfigWith("num_attention_heads", "null")), "MVC004", ["'num_attention_heads'", "null"]),
        ["config: qkv_bias a string"] = (() => Folder(ConfigWith("qkv_bias", "\"yes\"")), "MVC004", ["'qkv_bias'", "\"yes\""]),
        ["config: hidden_act a number"] = (() => Folder(ConfigWith("hidden_act", "1")), "MVC004", ["'hidden_act'", "the number 1"]),
        ["config: id2label an array"] = (() => Folder(ConfigWith("id2label", "[\"a\", \"b\"]")), "MVC004", ["'id2label'", "a JSON array"]),
        ["config: id2label value a number"] = (() => Folder(ConfigWith("id2label", "{\"0\": 7}")), "MVC004", ["'id2label.0'", "the number 7"]),
        ["config: model_type a number"] = (() => Folder(ConfigWith("model_type", "42")), "MVC004", ["'model_type'", "the number 42"]),
        ["config: architectures a string"] = (() => Folder(ConfigWith("architectures", "\"MobileViTForImageClassification\"")), "MVC004", ["'architectures'"]),
        ["config: hidden_sizes element a string"] = (() => Folder(ConfigWith("hidden_sizes", "[64, \"80\", 96]")), "MVC004", ["'hidden_sizes[1]'", "\"80\""]),
        // missing required fields
        ["config: model_type missing"] = (() => Folder(ConfigWithout("model_type")), "MVC003", ["config.json", "'model_type'"]),
        ["config: hidden_sizes missing"] = (() => Folder(ConfigWithout("hidden_sizes")), "MVC003", ["'hidden_sizes'"]),
        ["config: neck_hidden_sizes missing"] = (() => Folder(ConfigWithout("neck_hidden_sizes")), "MVC003", ["'neck_hidden_sizes'"]),
        ["config: empty object"] = (() => Folder("{}"), "MVC003", ["'model_type'"]),
        // negative or zero sizes
        ["config: image_size 0"] = (() => Folder(ConfigWith("image_size", "0")), "MVC005", ["'image_size'", "0", "between 1 and 4096"]),
        ["config: image_size -64"] = (() => Folder(ConfigWith("image_size", "-64")), "MVC005", ["'image_size'", "-64"]),
        ["config: patch_size 0"] = (() => Folder(ConfigWith("patch_size", "0")), "MVC005", ["'patch_size'", "0"]),
        ["config: num_attention_heads 0"] = (() => Folder(ConfigWith("num_attention_heads", "0")), "MVC005", ["'num_attention_heads'", "0"]),
        ["config: num_channels -1"] = (() => Folder(ConfigWith("num_channels", "-1")), "MVC005", ["'num_channels'", "-1"]),
        ["config: hidden_sizes with 0"] = (() => Folder(ConfigWith("hidden_sizes", "[64, 0, 96]")), "MVC005", ["'hidden_sizes[1]'", "0"]),
        ["config: neck_hidden_sizes negative"] = (() => Folder(ConfigWith("neck_hidden_sizes", "[16, 16, 24, 48, 64, 80, -320]")), "MVC005", ["'neck_hidden_sizes[6]'", "-320"]),
        ["config: neck_hidden_sizes too short"] = (() => Folder(ConfigWith("neck_hidden_sizes", "[16, 16]")), "MVC005", ["'neck_hidden_sizes'", "an array of 2 values"]),
        ["config: expand_ratio 0"] = (() => Folder(ConfigWith("expand_ratio", "0")), "MVC005", ["'expand_ratio'", "0"]),
        ["config: mlp_ratio -2"] = (() => Folder(ConfigWith("mlp_ratio", "-2")), "MVC005", ["'mlp_ratio'", "-2"]),
        ["config: layer_norm_eps underflows to 0"] = (() => Folder(ConfigWith("layer_norm_eps", "1e-400")), "MVC005", ["'layer_norm_eps'", "1e-400"]),
        ["config: conv_kernel_size even"] = (() => Folder(ConfigWith("conv_kernel_size", "4")), "MVC005", ["'conv_kernel_size'", "4", "odd"]),
        ["config: id2label empty"] = (() => Folder(ConfigWith("id2label", "{}")), "MVC005", ["'id2label'", "0 labels"]),
        ["config: id2label ids not 0..n-1"] = (() => Folder(ConfigWith("id2label", "{\"0\": \"a\", \"5\": \"b\"}")), "MVC005", ["'id2label'", "\"5\""]),
        ["config: id2label negative id"] = (() => Folder(ConfigWith("id2label", "{\"-1\": \"a\"}")), "MVC005", ["'id2label'", "\"-1\""]),
        // hidden sizes not divisible by heads
        ["config: hidden_sizes not divisible by heads"] = (() => Folder(ConfigWith("hidden_sizes", "[64, 80, 97]")), "MVC005", ["'hidden_sizes'", "97 is not divisible by num_attention_heads 4"]),
        ["config: heads larger than hidden"] = (() => Folder(ConfigWith("num_attention_heads", "128")), "MVC005", ["'hidden_sizes'", "num_attention_heads 128"]),
        // unsupported model_type, values
        ["config: model_type bert"] = (() => Folder(ConfigWith("model_type", "\"bert\"")), "MVC006", ["model_type", "bert"]),
        ["config: model_type empty"] = (() => Folder(ConfigWith("model_type", "\"\"")), "MVC006", ["model_type"]),
        ["config: architecture MobileViTV2Model in a V1 config"] = (() => Folder(ConfigWith("architectures", "[\"MobileViTV2Model\"]")), "MVC006", ["MobileViTV2Model"]),
        ["config: hidden_act gelu"] = (() => Folder(ConfigWith("hidden_act", "\"gelu\"")), "MVC016", ["'hidden_act'", "gelu"]),
        ["config: output_stride 16 for a classifier"] = (() => Folder(ConfigWith("output_stride", "16")), "MVC016", ["'output_stride'", "16"]),
        // absurd image_size
        ["config: image_size 100000"] = (() => Folder(ConfigWith("image_size", "100000")), "MVC005", ["'image_size'", "100000"]),
        ["config: image_size 1e308"] = (() => Folder(ConfigWith("image_size", "1e308")), "MVC005", ["'image_size'", "1e308"]),
        ["config: image_size 1e999 (infinite)"] = (() => Folder(ConfigWith("image_size", "1e999")), "MVC004", ["'image_size'", "1e999"]),
        ["config: image_size 2^31"] = (() => Folder(ConfigWith("image_size", "2147483648")), "MVC005", ["'image_size'", "2147483648"]),

        // model.safetensors (through the manifest the build writes)
        ["weights: file of 4 bytes"] = (() => Folder(manifest: ModelFolder.ManifestFor([1, 2, 3, 4], WeightsPath)), "MVC007", ["4 bytes"]),
        ["weights: truncated into the header"] = (() => Folder(manifest: ModelFolder.ManifestFor(Weights[..100], WeightsPath)), "MVC007", ["larger than the file"]),
        ["weights: truncated, header intact, data short"] = (() => Folder(manifest: ModelFolder.ManifestFor(Weights[..^1], WeightsPath)), "MVC012", ["outside"]),
        ["weights: header intact, no data at all"] = (() => Folder(manifest: Manifest(HeaderText, 0)), "MVC012", ["data bytes"]),
        ["weights: header length 2^64-1"] = (() => Folder(manifest: ModelFolder.ManifestFor(WithHeaderLength(ulong.MaxValue), WeightsPath)), "MVC007", ["18446744073709551615", "larger than the file"]),
        ["weights: header length 2^40"] = (() => Folder(manifest: ModelFolder.ManifestFor(WithHeaderLength(1UL << 40), WeightsPath)), "MVC007", ["1099511627776", "larger than the file"]),
        ["weights: manifest header_length absurd"] = (() => Folder(manifest: FixtureManifest.Replace("header_length: ", "header_length: 99999999999")), "MVC007", ["larger than the file"]),
        ["weights: manifest not a manifest"] = (() => Folder(manifest: "PK\u0003\u0004 zip"), "MVC007", ["not a weights manifest"]),
        ["weights: manifest without header"] = (() => Folder(manifest: "mobilevit-weights-manifest 1\nfile: " + WeightsPath + "\nlength: 10\n"), "MVC007", ["no header section"]),
        ["weights: header not JSON"] = (() => Folder(manifest: Manifest("this is not json")), "MVC008", ["not valid JSON"]),
        ["weights: header truncated JSON"] = (() => Folder(manifest: Manifest(HeaderText[..(HeaderText.Length / 2)])), "MVC008", ["truncated"]),
        ["weights: header a JSON array"] = (() => Folder(manifest: Manifest("[]")), "MVC008", ["not an object"]),
        ["weights: header nested 100000 deep"] = (() => Folder(manifest: Manifest("{\"a\":" + new string('[', 100_000))), "MVC008", ["nesting deeper than"]),
        ["weights: overlapping offsets"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["data_offsets"] = h["classifier.weight"]!["data_offsets"]!.AsArray()[0]!.GetValue<long>() is var b ? new JsonArray(b, b + 40) : null)), "MVC012", ["overlaps"]),
        ["weights: offsets past the end"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["data_offsets"] = new JsonArray(DataLength, DataLength + 40))), "MVC012", ["'classifier.bias'", "outside"]),
        ["weights: offsets reversed"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["data_offsets"] = new JsonArray(40, 0))), "MVC012", ["'classifier.bias'", "[40, 0]"]),
        ["weights: offset negative"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["data_offsets"] = new JsonArray(-40, 0))), "MVC012", ["'classifier.bias'", "data_offsets"]),
        ["weights: offset 2^63"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["data_offsets"] = JsonNode.Parse("[0, 9223372036854775808]"))), "MVC012", ["'classifier.bias'", "data_offsets"]),
        ["weights: offset fractional"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["data_offsets"] = JsonNode.Parse("[0.5, 40.5]"))), "MVC012", ["'classifier.bias'", "data_offsets"]),
        ["weights: shape dim negative"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["shape"] = new JsonArray(-10))), "MVC012", ["'classifier.bias'", "-10"]),
        ["weights: shape dim 2^40"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["shape"] = new JsonArray(1L << 40))), "MVC012", ["'classifier.bias'", "1099511627776"]),
        ["weights: shape overflowing product"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["shape"] = new JsonArray(65536, 65536, 65536, 65536))), "MVC012", ["'classifier.bias'", "more elements than"]),
        ["weights: shape of 9 dims"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["shape"] = new JsonArray(1, 1, 1, 1, 1, 1, 1, 1, 10))), "MVC012", ["'classifier.bias'", "8 dimensions"]),
        ["weights: entry not an object"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"] = 5)), "MVC012", ["'classifier.bias'", "not an object"]),
        ["weights: dtype unknown"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["dtype"] = "Q4_K")), "MVC012", ["'classifier.bias'", "Q4_K"]),
        ["weights: data span wrong for shape"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["dtype"] = "F16")), "MVC012", ["'classifier.bias'", "needs 20"]),
        ["weights: missing tensor"] = (() => Folder(manifest: HeaderWith(h => h.Remove("mobilevit.conv_stem.convolution.weight"))), "MVC009", ["'mobilevit.conv_stem.convolution.weight'", "16, 1, 3, 3"]),
        ["weights: wrong shape"] = (() => Folder(manifest: HeaderWith(h => h["classifier.weight"]!["shape"] = new JsonArray(320, 10))), "MVC010", ["'classifier.weight'", "[320, 10]", "[10, 320]"]),
        ["weights: dtype I32"] = (() => Folder(manifest: HeaderWith(h => h["classifier.bias"]!["dtype"] = "I32")), "MVC011", ["'classifier.bias'", "I32"]),
        ["weights: dtype F64"] = (() => Folder(manifest: HeaderWith(h => { h["classifier.bias"]!["dtype"] = "F64"; h["classifier.bias"]!["shape"] = new JsonArray(5); })), "MVC010", ["'classifier.bias'", "[5]"]),
        ["weights: dtype U8 of the right size"] = (() => Folder(manifest: HeaderWith(h => { h["classifier.bias"]!["dtype"] = "U8"; h["classifier.bias"]!["shape"] = new JsonArray(10); SetSpan(h, "classifier.bias", 10); })), "MVC011", ["'classifier.bias'", "U8"]),
        ["weights: duplicate tensor name"] = (() => Folder(manifest: Manifest(HeaderText.Insert(1, "\"classifier.bias\":" + Header()["classifier.bias"]!.ToJsonString() + ","))), "MVC013", ["'classifier.bias'"]),
        ["weights: another architecture (x-small)"] = (() => Folder(manifest: ModelFolder.ManifestFor(File.ReadAllBytes(Path.Combine(ModelFolder.FixtureDirectory("mobilevit-x-small"), "model.safetensors")), WeightsPath)), "MVC010", ["has shape", "but config.json implies"]),
    };

    private static void SetSpan(JsonObject header, string name, long bytes)
    {
        long begin = header[name]!["data_offsets"]!.AsArray()[0]!.GetValue<long>();
        header[name]!["data_offsets"] = new JsonArray(begin, begin + bytes);
    }

    private static byte[] WithHeaderLength(ulong length)
    {
        var bytes = Weights.ToArray();
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), length);
        return bytes;
    }

    public static TheoryData<string> Cases() => new(s_cases.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MalformedFolderFailsWithItsOwnDiagnostic(string name)
    {
        var (folder, id, parts) = s_cases[name];
        var outcome = Check(folder());
        var diagnostic = outcome.Diagnostics.FirstOrDefault(d => d.Id == id);
        Assert.True(diagnostic is not null, $"{name}: expected {id}, got: {string.Join("; ", outcome.Diagnostics)}");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic!.Severity);
        string message = diagnostic.GetMessage();
        foreach (string part in parts) Assert.Contains(part, message);
        // The diagnostic points at the file at fault, so the IDE and the build log name it.
        string file = diagnostic.Location.GetLineSpan().Path;
        if (name.StartsWith("config:", StringComparison.Ordinal)) Assert.Equal("/models/m/config.json", file);
        else if (name != "weights: manifest not a manifest") Assert.Equal(WeightsPath, file);
    }

    [Fact]
    public void EveryPrefixOfConfigJsonIsRefusedWithMVC002()
    {
        // Truncation at every byte: the generator must answer each with "not valid JSON", never crash.
        string text = ConfigText.TrimEnd();
        for (int length = 0; length < text.Length; length++)
        {
            var outcome = Check(Folder(text[..length]));
            Assert.True(outcome.FirstError?.Id == "MVC002", $"prefix of {length} chars: {string.Join("; ", outcome.Diagnostics)}");
        }
    }

    [Fact]
    public void UnusedTensorIsOnlyAWarning()
    {
        var header = Header();
        header["some.adapter.weight"] = new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(10), ["data_offsets"] = new JsonArray(DataLength, DataLength + 40) };
        var outcome = Check(Folder(manifest: Manifest(header.ToJsonString(), DataLength + 40)));
        Assert.True(outcome.Accepted);
        var warning = Assert.Single(outcome.Diagnostics);
        Assert.Equal(("MVC014", DiagnosticSeverity.Warning), (warning.Id, warning.Severity));
        Assert.Contains("some.adapter.weight", warning.GetMessage());
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void HalfPrecisionWeightsCompileWithoutErrors(string dtype)
    {
        var outcome = Check(Folder(manifest: ModelFolder.ManifestFor(HalfPrecision.Convert(Weights, dtype), WeightsPath)), compile: true);
        Assert.True(outcome.Accepted, string.Join("; ", outcome.Diagnostics));
        Assert.Empty(outcome.Diagnostics);
    }

    [Theory]
    [InlineData("image_size", "1")]
    [InlineData("image_size", "2")]
    [InlineData("image_size", "7")]
    [InlineData("image_size", "4096")]
    [InlineData("patch_size", "16")]
    [InlineData("patch_size", "3")]
    [InlineData("conv_kernel_size", "15")]
    [InlineData("num_attention_heads", "16")]
    [InlineData("mlp_ratio", "0.001")]
    [InlineData("expand_ratio", "64")]
    public void ExtremeButWellFormedConfigsAreAcceptedOrRefusedNeverCrash(string field, string json)
        => Check(new ModelFolder("m", ConfigWith(field, json), null));

    [Fact]
    public void LargestChannelsAndImageSizeAreRefusedNotCrashed()
    {
        // Every size at its parser maximum: the activations exceed one .NET array.
        var config = Config();
        config["image_size"] = 4096;
        config["hidden_sizes"] = new JsonArray(8192, 8192, 8192);
        config["neck_hidden_sizes"] = new JsonArray(8192, 8192, 8192, 8192, 8192, 8192, 8192);
        var outcome = Check(new ModelFolder("m", config.ToJsonString(), null));
        Assert.False(outcome.Accepted);
    }

    [Fact]
    public void HostileLabelsAreEscapedAndCompile()
    {
        var config = Config();
        config["id2label"] = new JsonObject
        {
            ["0"] = "\"; System.Environment.Exit(1); //",
            ["1"] = "line\nbreak\r\t\\ \u2028 \u0000 end",
            ["2"] = "\ud83d\ude00 emoji",
            ["3"] = "{0} {{ }} $\"{x}\"",
            ["4"] = "*/ /* // #if X",
            ["5"] = new string('x', 10_000),
            ["6"] = "",
            ["7"] = "<summary>&amp;</summary>",
            ["8"] = "\\u0022",
            ["9"] = "Ankle boot",
        };
        var outcome = Check(Folder(config.ToJsonString()), compile: true);
        Assert.True(outcome.Accepted, string.Join("; ", outcome.Diagnostics));
    }
}
