using System.Text;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;

namespace MobileViT.Compiled.Generator.Tests;

/// <summary>One test per diagnostic: each malformed model folder fails with its own ID and a message naming the problem.</summary>
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

    private static Diagnostic Expect(string id, ModelFolder folder, params string[] messageParts)
    {
        var result = GeneratorHarness.Run(folder);
        var diagnostic = result.GeneratorDiagnostics.FirstOrDefault(d => d.Id == id);
        Assert.True(diagnostic is not null, $"expected {id}, got: {string.Join("; ", result.GeneratorDiagnostics)}");
        string message = diagnostic!.GetMessage();
        foreach (var part in messageParts) Assert.Contains(part, message);
        Assert.Equal(id, diagnostic.Descriptor.Id);
        Assert.EndsWith($"docs/diagnostics/{id}.md", diagnostic.Descriptor.HelpLinkUri);
        if (diagnostic.Severity == DiagnosticSeverity.Error) Assert.Empty(result.Sources);
        return diagnostic;
    }

    [Fact]
    public void FixtureProducesNoDiagnostics() => Assert.Empty(GeneratorHarness.Run(Folder()).GeneratorDiagnostics);

    [Fact]
    public void MVC001_ConfigMissing() => Expect("MVC001", new ModelFolder("m", null, null), "config.json");

    [Theory]
    [InlineData("{ \"model_type\": ")]
    [InlineData("not json")]
    [InlineData("{\"a\": 1,}")]
    public void MVC002_ConfigNotJson(string text) => Expect("MVC002", Folder(text), "config.json", "not valid JSON");

    [Fact]
    public void MVC003_RequiredFieldMissing()
    {
        var config = Config();
        config.Remove("hidden_sizes");
        Expect("MVC003", Folder(config.ToJsonString()), "'hidden_sizes'");
    }

    [Fact]
    public void MVC004_WrongType()
    {
        var config = Config();
        config["hidden_sizes"] = "64,80,96";
        Expect("MVC004", Folder(config.ToJsonString()), "'hidden_sizes'", "the string \"64,80,96\"");
    }

    [Theory]
    [InlineData("image_size", "100000", "100000")]
    [InlineData("num_channels", "0", "0")]
    [InlineData("neck_hidden_sizes", "[16, 16, 24, -48, 64, 80, 320]", "-48")]
    [InlineData("hidden_sizes", "[64, 81, 96]", "not divisible by num_attention_heads 4")]
    [InlineData("layer_norm_eps", "-1", "-1")]
    public void MVC005_ValueOutOfRange(string field, string json, string named)
    {
        var config = Config();
        config[field] = JsonNode.Parse(json);
        Expect("MVC005", Folder(config.ToJsonString()), field, named);
    }

    [Theory]
    [InlineData("model_type", "\"bert\"", "bert")]
    [InlineData("architectures", "[\"MobileViTV2Model\"]", "MobileViTV2Model")] // the V2 backbone in a MobileViT (V1) config
    public void MVC006_UnsupportedModel(string field, string json, string named)
    {
        var config = Config();
        config[field] = JsonNode.Parse(json);
        Expect("MVC006", Folder(config.ToJsonString()), named);
    }

    [Fact]
    public void MVC007_TruncatedWeightsFile()
    {
        var truncated = Weights.AsSpan(0, 100).ToArray(); // the header length now points past the end
        Expect("MVC007", Folder(manifest: ModelFolder.ManifestFor(truncated, "/models/m/model.safetensors")), "model.safetensors", "larger than the file");
    }

    [Fact]
    public void MVC012_DataShorterThanOffsets()
    {
        // Header intact, data cut: offsets point past the end.
        string header = Header().ToJsonString();
        Expect("MVC012", Folder(manifest: Manifest(header, DataLength - 1000)), "outside");
    }

    [Fact]
    public void MVC008_HeaderNotJson() => Expect("MVC008", Folder(manifest: Manifest("{\"classifier.weight\": [1, 2")), "not valid JSON");

    [Fact]
    public void MVC009_TensorMissing()
    {
        var header = Header();
        header.Remove("classifier.bias");
        Expect("MVC009", Folder(manifest: Manifest(header.ToJsonString())), "'classifier.bias'", "[10]");
    }

    [Fact]
    public void MVC010_TensorWrongShape()
    {
        var header = Header();
        header["classifier.weight"]!["shape"] = new JsonArray(320, 10);
        Expect("MVC010", Folder(manifest: Manifest(header.ToJsonString())), "'classifier.weight'", "[320, 10]", "[10, 320]");
    }

    [Fact]
    public void MVC011_TensorDTypeUnsupported()
    {
        var header = Header();
        header["classifier.weight"]!["dtype"] = "I32";
        Expect("MVC011", Folder(manifest: Manifest(header.ToJsonString())), "'classifier.weight'", "I32");
    }

    [Theory]
    [InlineData("overlap")]
    [InlineData("range")]
    [InlineData("size")]
    public void MVC012_TensorEntryInvalid(string kind)
    {
        var header = Header();
        var entry = header["classifier.bias"]!;
        var offsets = entry["data_offsets"]!.AsArray();
        long begin = offsets[0]!.GetValue<long>();
        switch (kind)
        {
            case "overlap":
                var other = header["classifier.weight"]!["data_offsets"]!.AsArray();
                long otherBegin = other[0]!.GetValue<long>();
                entry["data_offsets"] = new JsonArray(otherBegin, otherBegin + 40);
                Expect("MVC012", Folder(manifest: Manifest(header.ToJsonString())), "overlaps");
                break;
            case "range":
                entry["data_offsets"] = new JsonArray(DataLength, DataLength + 40);
                Expect("MVC012", Folder(manifest: Manifest(header.ToJsonString())), "'classifier.bias'", "outside");
                break;
            case "size":
                entry["data_offsets"] = new JsonArray(begin, begin + 36);
                Expect("MVC012", Folder(manifest: Manifest(header.ToJsonString())), "'classifier.bias'", "needs 40");
                break;
        }
    }

    [Fact]
    public void MVC013_DuplicateTensor()
    {
        string header = Header().ToJsonString();
        var bias = Header()["classifier.bias"]!.ToJsonString();
        string duplicated = header.Insert(1, $"\"classifier.bias\":{bias},");
        Expect("MVC013", Folder(manifest: Manifest(duplicated)), "'classifier.bias'");
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
        var diagnostic = Expect("MVC014", Folder(manifest: Manifest(header.ToJsonString(), DataLength + 40)), "extra.tensor");
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Single(GeneratorHarness.Run(Folder(manifest: Manifest(header.ToJsonString(), DataLength + 40))).Sources);
    }

    [Theory]
    [InlineData("class")]
    [InlineData("1Model")]
    [InlineData("My-Model")]
    public void MVC015_ClassNameInvalid(string className) => Expect("MVC015", Folder(className: className), className);

    [Theory]
    [InlineData("hidden_act", "\"gelu\"", "gelu")]
    [InlineData("output_stride", "16", "16")]
    public void MVC016_ValueUnsupported(string field, string json, string named)
    {
        var config = Config();
        config[field] = JsonNode.Parse(json);
        Expect("MVC016", Folder(config.ToJsonString()), field, named);
    }
}
