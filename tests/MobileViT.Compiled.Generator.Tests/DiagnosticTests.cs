using System.Text;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;

namespace MobileViT.Compiled.Generator.Tests;

/// <summary>
/// One test per diagnostic: each malformed model folder fails with its own ID, at the place in the file at fault, and
/// a message naming the problem, the field or tensor and the value; the whole text is compared, as the build prints it.
/// </summary>
public class DiagnosticTests
{
    private const string Model = "mobilevit-xx-small-fashion";
    private static readonly string ConfigText = File.ReadAllText(Path.Combine(ModelFolder.FixtureDirectory(Model), "config.json"));
    private static readonly byte[] Weights = File.ReadAllBytes(Path.Combine(ModelFolder.FixtureDirectory(Model), "model.safetensors"));

    private static JsonObject Config() => JsonNode.Parse(ConfigText)!.AsObject();

    private static JsonObject Header()
    {
        ulong length = BitConverter.ToUInt64(Weights, 0);
        return JsonNode.Parse(Encoding.UTF8.GetString(Weights, 8, (int)length))!.AsObject();
    }

    private static long DataLength => Weights.Length - 8 - (long)BitConverter.ToUInt64(Weights, 0);

    /// <summary>A manifest whose header is <paramref name="header"/> text over the fixture's data bytes.</summary>
    private static string Manifest(string header, long? dataLength = null)
    {
        int headerLength = Encoding.UTF8.GetByteCount(header);
        return "mobilevit-weights-manifest 1\nfile: /models/m/model.safetensors\n"
            + $"length: {8 + headerLength + (dataLength ?? DataLength)}\nsha256: 00\nheader_length: {headerLength}\nheader:\n{header}";
    }

    private static ModelFolder Folder(string? config = null, string? manifest = null, string className = "")
        => new("m", config ?? ConfigText, manifest ?? ModelFolder.ManifestFor(Weights, "/models/m/model.safetensors"), className);

    private const string ConfigPath = "/models/m/config.json";
    private const string WeightsPath = "/models/m/model.safetensors";

    /// <summary>
    /// The diagnostic <paramref name="id"/> of the folder, with its complete text as the build prints it
    /// ("file(line,column): error ID: message", which MSBuild follows with the project): each is compared whole.
    /// </summary>
    private static Diagnostic Expect(string id, ModelFolder folder, string expectedText)
    {
        var result = GeneratorHarness.Run(folder);
        var diagnostic = result.GeneratorDiagnostics.FirstOrDefault(d => d.Id == id);
        Assert.True(diagnostic is not null, $"expected {id}, got: {string.Join("; ", result.GeneratorDiagnostics)}");
        Assert.Equal(expectedText, diagnostic!.ToString());
        Assert.Equal("", diagnostic.Descriptor.HelpLinkUri); // no published address to link to: docs/diagnostics/ID.md
        Assert.True(File.Exists(Path.Combine(ModelFolder.RepoRoot, "docs", "diagnostics", id + ".md")), $"docs/diagnostics/{id}.md is missing");
        if (diagnostic.Severity == DiagnosticSeverity.Error) Assert.Empty(result.Sources);
        return diagnostic;
    }

    /// <summary>"(line,column)" of where <paramref name="marker"/> ends in one-line JSON text, shifted by <paramref name="prefix"/> characters.</summary>
    private static string After(string json, string marker, int prefix = 0)
    {
        int index = json.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(index >= 0, $"{marker} is not in the text");
        return $"(1,{prefix + index + marker.Length + 1})";
    }

    /// <summary>The same in model.safetensors, whose header JSON follows the 8-byte header length.</summary>
    private static string InHeader(string header, string marker) => After(header, marker, prefix: 8);

    [Fact]
    public void FixtureProducesNoDiagnostics() => Assert.Empty(GeneratorHarness.Run(Folder()).GeneratorDiagnostics);

    [Fact]
    public void MVC001_ConfigMissing() => Expect("MVC001", new ModelFolder("m", null, null),
        $"{ConfigPath}(1,1): error MVC001: the model folder has no readable config.json");

    [Theory]
    [InlineData("{ \"model_type\": ", 17, "unexpected end of input (truncated?)")]
    [InlineData("not json", 1, "invalid literal, expected 'null'")]
    [InlineData("{\"a\": 1,}", 9, "expected a member name in quotes")]
    public void MVC002_ConfigNotJson(string text, int column, string problem) => Expect("MVC002", Folder(text),
        $"{ConfigPath}(1,{column}): error MVC002: config.json is not valid JSON: {problem}");

    [Fact]
    public void MVC003_RequiredFieldMissing()
    {
        var config = Config();
        config.Remove("hidden_sizes");
        // at the opening brace of the object the field belongs in
        Expect("MVC003", Folder(config.ToJsonString()), $"{ConfigPath}(1,1): error MVC003: config.json has no 'hidden_sizes', which a MobileViT model needs");
    }

    [Fact]
    public void MVC004_WrongType()
    {
        var config = Config();
        config["hidden_sizes"] = "64,80,96";
        string json = config.ToJsonString();
        Expect("MVC004", Folder(json),
            $"{ConfigPath}{After(json, "\"hidden_sizes\":")}: error MVC004: config field 'hidden_sizes' must be an array of 3 integers, but is the string \"64,80,96\"");
    }

    [Theory]
    [InlineData("image_size", "100000", "", "'image_size' has the value 100000: must be between 1 and 4096")]
    [InlineData("num_channels", "0", "", "'num_channels' has the value 0: must be between 1 and 64")]
    [InlineData("neck_hidden_sizes", "[16, 16, 24, -48, 64, 80, 320]", "[16,16,24,", "'neck_hidden_sizes[3]' has the value -48: must be between 1 and 8192")] // at the element
    [InlineData("hidden_sizes", "[64, 81, 96]", "", "'hidden_sizes' has the value [64, 81, 96]: 81 is not divisible by num_attention_heads 4")]
    [InlineData("layer_norm_eps", "-1", "", "'layer_norm_eps' has the value -1: must be greater than 0 and at most 1")]
    public void MVC005_ValueOutOfRange(string field, string json, string withinValue, string message)
    {
        var config = Config();
        config[field] = JsonNode.Parse(json);
        string text = config.ToJsonString();
        Expect("MVC005", Folder(text), $"{ConfigPath}{After(text, $"\"{field}\":{withinValue}")}: error MVC005: config field {message}");
    }

    [Theory]
    [InlineData("model_type", "\"bert\"", "model_type 'bert' is not supported: supported: 'mobilevit', 'mobilevitv2'")]
    [InlineData("architectures", "[\"MobileViTV2Model\"]", // the V2 backbone in a MobileViT (V1) config
        "architecture 'MobileViTV2Model' is not supported: supported with this model_type: MobileViTForImageClassification, MobileViTForSemanticSegmentation, MobileViTModel")]
    public void MVC006_UnsupportedModel(string field, string json, string message)
    {
        var config = Config();
        config[field] = JsonNode.Parse(json);
        string text = config.ToJsonString();
        string marker = field == "architectures" ? "\"architectures\":[" : $"\"{field}\":";
        Expect("MVC006", Folder(text), $"{ConfigPath}{After(text, marker)}: error MVC006: {message}");
    }

    [Fact]
    public void MVC007_TruncatedWeightsFile()
    {
        var truncated = Weights.AsSpan(0, 100).ToArray(); // the header length now points past the end
        ulong headerLength = BitConverter.ToUInt64(truncated, 0);
        Expect("MVC007", Folder(manifest: ModelFolder.ManifestFor(truncated, WeightsPath)),
            $"{WeightsPath}(1,1): error MVC007: the weights file cannot be used: the header length {headerLength} is larger than the file (100 bytes)");
    }

    [Fact]
    public void MVC008_HeaderNotJson()
    {
        const string header = "{\"classifier.weight\": [1, 2";
        Expect("MVC008", Folder(manifest: Manifest(header)),
            $"{WeightsPath}(1,{8 + header.Length + 1}): error MVC008: the safetensors header is not valid JSON: unexpected end of input (truncated?)");
    }

    [Fact]
    public void MVC009_TensorMissing()
    {
        var header = Header();
        header.Remove("classifier.bias");
        Expect("MVC009", Folder(manifest: Manifest(header.ToJsonString())),
            $"{WeightsPath}(1,1): error MVC009: tensor 'classifier.bias' is missing; the model described by config.json needs it with shape [10]");
    }

    [Fact]
    public void MVC010_TensorWrongShape()
    {
        var header = Header();
        header["classifier.weight"]!["shape"] = new JsonArray(320, 10);
        string text = header.ToJsonString();
        Expect("MVC010", Folder(manifest: Manifest(text)),
            $"{WeightsPath}{InHeader(text, "\"classifier.weight\":")}: error MVC010: tensor 'classifier.weight' has shape [320, 10], but config.json implies [10, 320]");
    }

    [Fact]
    public void MVC011_TensorDTypeUnsupported()
    {
        var header = Header();
        header["classifier.weight"]!["dtype"] = "I32";
        string text = header.ToJsonString();
        Expect("MVC011", Folder(manifest: Manifest(text)),
            $"{WeightsPath}{InHeader(text, "\"classifier.weight\":")}: error MVC011: tensor 'classifier.weight' has dtype 'I32'; the model takes F32, F16 or BF16");
    }

    [Fact]
    public void MVC012_DataShorterThanOffsets()
    {
        // Header intact, data cut: offsets point past the end. The first tensor in the header is reported.
        string text = Header().ToJsonString();
        var diagnostic = Expect("MVC012", Folder(manifest: Manifest(text, DataLength - 1000)), FirstMvc012(text, DataLength - 1000));
        Assert.Contains("outside", diagnostic.GetMessage());
    }

    [Theory]
    [InlineData("overlap")]
    [InlineData("range")]
    [InlineData("size")]
    public void MVC012_TensorEntryInvalid(string kind)
    {
        var header = Header();
        var entry = header["classifier.bias"]!;
        long begin = entry["data_offsets"]![0]!.GetValue<long>();
        var other = header["classifier.weight"]!["data_offsets"]!.AsArray();
        long otherBegin = other[0]!.GetValue<long>(), otherEnd = other[1]!.GetValue<long>();
        string problem;
        switch (kind)
        {
            case "overlap": // reported at the later of the two in the header: classifier.weight follows classifier.bias
                entry["data_offsets"] = new JsonArray(otherBegin, otherBegin + 40);
                string weightText = header.ToJsonString();
                Expect("MVC012", Folder(manifest: Manifest(weightText)), $"{WeightsPath}{InHeader(weightText, "\"classifier.weight\":")}: error MVC012: "
                    + $"tensor 'classifier.weight': its data [{otherBegin}, {otherEnd}] overlaps tensor 'classifier.bias' [{otherBegin}, {otherBegin + 40}]");
                return;
            case "range":
                entry["data_offsets"] = new JsonArray(DataLength, DataLength + 40);
                problem = $"its data_offsets [{DataLength}, {DataLength + 40}] lie outside the {DataLength} data bytes of the file";
                break;
            default:
                entry["data_offsets"] = new JsonArray(begin, begin + 36);
                problem = "its data_offsets span 36 bytes, but shape [10] of F32 needs 40";
                break;
        }
        string text = header.ToJsonString();
        string name = "classifier.bias";
        Expect("MVC012", Folder(manifest: Manifest(text)), $"{WeightsPath}{InHeader(text, $"\"{name}\":")}: error MVC012: tensor '{name}': {problem}");
    }

    [Fact]
    public void MVC013_DuplicateTensor()
    {
        string header = Header().ToJsonString();
        var bias = Header()["classifier.bias"]!.ToJsonString();
        string duplicated = header.Insert(1, $"\"classifier.bias\":{bias},");
        // the second occurrence is the duplicate
        int second = duplicated.IndexOf("\"classifier.bias\":", 2, StringComparison.Ordinal) + "\"classifier.bias\":".Length;
        Expect("MVC013", Folder(manifest: Manifest(duplicated)),
            $"{WeightsPath}(1,{8 + second + 1}): error MVC013: tensor 'classifier.bias' appears more than once in the safetensors header");
    }

    [Fact]
    public void MVC014_UnusedTensorIsAWarning()
    {
        var header = Header();
        var bias = header["classifier.bias"]!.DeepClone();
        header["extra.tensor"] = bias;
        header["classifier.bias"] = JsonNode.Parse(bias.ToJsonString());
        // share no bytes with the existing tensors: place the extra tensor's data after them
        header["extra.tensor"]!["data_offsets"] = new JsonArray(DataLength, DataLength + 40);
        string text = header.ToJsonString();
        var diagnostic = Expect("MVC014", Folder(manifest: Manifest(text, DataLength + 40)),
            $"{WeightsPath}{InHeader(text, "\"extra.tensor\":")}: warning MVC014: 1 tensor(s) are not used by the model and are ignored, e.g. 'extra.tensor'");
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Single(GeneratorHarness.Run(Folder(manifest: Manifest(text, DataLength + 40))).Sources);
    }

    [Theory]
    [InlineData("class")]
    [InlineData("1Model")]
    [InlineData("My-Model")]
    public void MVC015_ClassNameInvalid(string className) => Expect("MVC015", Folder(className: className),
        $"{ConfigPath}(1,1): error MVC015: the class name '{className}' cannot be used: it is not a valid C# identifier (set ClassName on the MobileViTModel item)");

    [Theory]
    [InlineData("hidden_act", "\"gelu\"", "\"gelu\", which this compiler does not support: MobileViT uses 'silu' (MobileViTV2 calls it 'swish')")]
    [InlineData("output_stride", "16", "16, which this compiler does not support: image classification uses 32 (8 and 16 are for segmentation)")]
    public void MVC016_ValueUnsupported(string field, string json, string valueAndProblem)
    {
        var config = Config();
        config[field] = JsonNode.Parse(json);
        string text = config.ToJsonString();
        Expect("MVC016", Folder(text), $"{ConfigPath}{After(text, $"\"{field}\":")}: error MVC016: config field '{field}' has the value {valueAndProblem}");
    }

    /// <summary>MVC016 from lowering (a map too small for MobileViTV2's patches) points at image_size too.</summary>
    [Fact]
    public void MVC016_ImageSizeTooSmallForTheArchitecture()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(ModelFolder.FixtureDirectory("mobilevitv2-0.5"), "config.json")))!.AsObject();
        config["image_size"] = 2;
        string text = config.ToJsonString();
        var result = GeneratorHarness.Run(new ModelFolder("m", text, null));
        var diagnostic = Assert.Single(result.GeneratorDiagnostics);
        Assert.StartsWith($"{ConfigPath}{After(text, "\"image_size\":")}: error MVC016: config field 'image_size' has the value 2, which this compiler does not support: ", diagnostic.ToString());
    }

    [Theory]
    [InlineData("int4")]
    [InlineData("fp16")]
    [InlineData("int 8")]
    public void MVC018_PrecisionUnsupported(string precision) => Expect("MVC018", Folder() with { Precision = precision },
        $"/obj/mobilevit/m-{precision}/config.json(1,1): error MVC018: Precision '{precision}' is not supported: use fp32 (the default) or int8");

    [Theory]
    [InlineData("fp32", "MobilevitXxSmall")]
    [InlineData("FP32", "MobilevitXxSmall")]
    [InlineData("Int8", "MobilevitXxSmallInt8")]
    public void Precision_IsReadInAnyCase_AndInt8NamesItsClass(string precision, string className)
    {
        var model = ModelFolder.Fixture("mobilevit-xx-small") with { Name = "mobilevit-xx-small", Precision = precision, ClassName = "" };
        var result = GeneratorHarness.Run(model);
        Assert.Empty(result.GeneratorDiagnostics);
        var (hintName, source) = Assert.Single(result.Sources);
        Assert.Equal(className + ".MobileViT.g.cs", hintName);
        Assert.Contains($"public const string Precision = \"{(precision.ToLowerInvariant() == "int8" ? "int8" : "fp32")}\";", source);
    }

    /// <summary>One folder compiled twice, fp32 and int8: two classes, each its own recipe.</summary>
    [Fact]
    public void SameFolderInBothPrecisions_GivesTwoClasses()
    {
        var fp32 = ModelFolder.Fixture("mobilevit-xx-small");
        var result = GeneratorHarness.Run(fp32, fp32 with { Precision = "int8" });
        Assert.Empty(result.GeneratorDiagnostics);
        var sources = result.Sources.OrderBy(s => s.HintName).ToList();
        Assert.Equal(["MobilevitXxSmall.MobileViT.g.cs", "MobilevitXxSmallInt8.MobileViT.g.cs"], sources.Select(s => s.HintName));
        Assert.DoesNotContain(" conv int8 ", sources[0].Source);
        Assert.Contains(" conv int8 ", sources[1].Source);
        Assert.Contains("Kernels.QuantizedPointwise.Run", sources[1].Source);
        Assert.Contains("; float: the first convolution", sources[1].Source);
    }

    /// <summary>The MVC012 text for the header's first tensor when the data is cut to <paramref name="dataLength"/> bytes.</summary>
    private static string FirstMvc012(string header, long dataLength)
    {
        var entries = JsonNode.Parse(header)!.AsObject().Where(p => p.Key != "__metadata__").ToList();
        foreach (var (name, value) in entries)
        {
            long begin = value!["data_offsets"]![0]!.GetValue<long>(), end = value["data_offsets"]![1]!.GetValue<long>();
            if (end > dataLength)
                return $"{WeightsPath}{InHeader(header, $"\"{name}\":")}: error MVC012: tensor '{name}': its data_offsets [{begin}, {end}] lie outside the {dataLength} data bytes of the file";
        }
        throw new InvalidOperationException("no tensor reaches past the cut");
    }
}
