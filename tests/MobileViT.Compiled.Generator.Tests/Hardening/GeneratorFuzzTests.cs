using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using static MobileViT.Compiled.Generator.Tests.Hardening.HostileFolder;

namespace MobileViT.Compiled.Generator.Tests.Hardening;

/// <summary>
/// Fuzzes the generator's parsers (ConfigParser, ManifestParser, then lowering and emit for whatever they accept)
/// through GeneratorHarness: thousands of mutated config.json and weights headers, bounded in count and time.
/// Each must be accepted or refused with MVC diagnostics; an exception, CS8785 or AD0001 fails the test and CsCheck
/// prints the seed and the input. Inputs that once crashed are kept in tests/fuzz-corpus and replayed.
/// </summary>
public class GeneratorFuzzTests(ITestOutputHelper output)
{
    // CI bounds; MOBILEVIT_FUZZ_ITERATIONS / MOBILEVIT_FUZZ_SECONDS raise them for a longer local run.
    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("MOBILEVIT_FUZZ_ITERATIONS"), out int n) ? n : 2000;
    private static readonly int Seconds = int.TryParse(Environment.GetEnvironmentVariable("MOBILEVIT_FUZZ_SECONDS"), out int t) ? t : 8;

    private static readonly string[] s_configFields =
    [
        "model_type", "architectures", "num_channels", "image_size", "patch_size", "hidden_sizes", "neck_hidden_sizes",
        "num_attention_heads", "mlp_ratio", "expand_ratio", "hidden_act", "conv_kernel_size", "output_stride", "qkv_bias",
        "layer_norm_eps", "id2label", "aspp_out_channels", "atrous_rates", "width_multiplier", "base_attn_unit_dims",
        "n_attn_blocks", "ffn_multiplier", "",
    ];

    private static readonly string[] s_hostileValues =
    [
        "0", "-1", "1", "2", "3", "7", "8", "16", "64", "97", "255", "256", "4096", "4097", "8192", "65536", "2147483647", "2147483648",
        "-2147483649", "9223372036854775807", "9223372036854775808", "1e308", "1e999", "-1e999", "1e-400", "0.5", "-0", "1.0", "2.0",
        "null", "true", "false", "\"\"", "\"mobilevit\"", "\"mobilevitv2\"", "\"silu\"", "\"swish\"", "\"gelu\"",
        "[]", "[0]", "[64, 80, 96]", "[16, 16, 24, 48, 64, 80, 320]", "[1, 1, 1]", "[8192, 8192, 8192]", "[\"a\"]", "[null, 1, 2]",
        "[[1]]", "{}", "{\"0\": \"a\"}", "{\"1\": \"a\"}", "{\"0\": 1}", "{\"0\": \"a\", \"0\": \"b\"}",
        "[\"MobileViTForImageClassification\"]", "[\"MobileViTForSemanticSegmentation\"]", "[\"MobileViTV2ForImageClassification\"]",
        "[\"MobileViTV2ForSemanticSegmentation\"]", "[\"X\", \"Y\"]",
    ];

    private const string Noise = "{}[]\",:0123456789-+.eE \n\t\\tfnul\u0000\u00e9\ud800";

    /// <summary>A mutated config.json: structured field edits, character edits or truncation, from one seed.</summary>
    internal static string MutateConfig(int seed)
    {
        var random = new Random(seed);
        int kind = random.Next(4);
        if (kind <= 1)
        {
            var config = Config();
            if (random.Next(4) == 0) config["model_type"] = "mobilevitv2";
            for (int n = random.Next(1, 4); n > 0; n--)
            {
                string field = s_configFields[random.Next(s_configFields.Length)];
                if (field.Length == 0) field = "x" + random.Next(100);
                if (random.Next(5) == 0) config.Remove(field);
                else config[field] = JsonNode.Parse(s_hostileValues[random.Next(s_hostileValues.Length)]);
            }
            string text = config.ToJsonString();
            return kind == 0 ? text : EditCharacters(text, random);
        }
        return kind == 2 ? EditCharacters(ConfigText, random) : ConfigText[..random.Next(ConfigText.Length)];
    }

    /// <summary>A mutated weights manifest: header entries edited structurally or by character, or manifest fields changed.</summary>
    internal static string MutateManifest(int seed)
    {
        var random = new Random(seed);
        var header = Header();
        var names = header.Select(p => p.Key).Where(k => k != "__metadata__").ToArray();
        long dataLength = DataLength;
        for (int n = random.Next(1, 4); n > 0; n--)
        {
            string name = names[random.Next(names.Length)];
            if (header[name] is not JsonObject entry) continue;
            switch (random.Next(9))
            {
                case 0: entry["dtype"] = new[] { "F16", "BF16", "F64", "I32", "U8", "BOOL", "F8_E4M3", "", "f32", "Q4" }[random.Next(10)]; break;
                case 1 when entry["shape"] is JsonArray shape:
                    if (shape.Count > 0) shape[random.Next(shape.Count)] = JsonNode.Parse(s_hostileValues[random.Next(20)]);
                    else shape.Add(random.Next(-1, 3));
                    break;
                case 2: entry["shape"] = JsonNode.Parse(s_hostileValues[random.Next(s_hostileValues.Length)]); break;
                case 3 when entry["data_offsets"] is JsonArray { Count: 2 } offsets:
                    offsets[random.Next(2)] = random.Next(3) switch
                    {
                        0 => JsonNode.Parse(s_hostileValues[random.Next(30)]),
                        1 => offsets[random.Next(2)] is JsonValue v && v.TryGetValue(out long o) ? o + random.Next(-64, 65) : 0,
                        _ => random.NextInt64(dataLength + 100),
                    };
                    break;
                case 4: header.Remove(name); break;
                case 5 when header[names[random.Next(names.Length)]] is JsonNode source: header[name + (random.Next(2) == 0 ? "" : ".x")] = source.DeepClone(); break;
                case 6: header["extra." + random.Next(1000)] = JsonNode.Parse(entry.ToJsonString()); break;
                case 7: entry.Remove(new[] { "dtype", "shape", "data_offsets" }[random.Next(3)]); break;
                default: dataLength = random.Next(2) == 0 ? random.NextInt64(DataLength) : DataLength + random.Next(1, 1 << 20); break;
            }
        }
        string text = header.ToJsonString();
        if (random.Next(4) == 0) text = EditCharacters(text, random);
        string manifest = Manifest(text, dataLength);
        return random.Next(10) == 0 ? EditCharacters(manifest[..Math.Min(manifest.Length, 200)], random) + manifest[Math.Min(manifest.Length, 200)..] : manifest;
    }

    private static string EditCharacters(string text, Random random)
    {
        var builder = new StringBuilder(text);
        for (int n = random.Next(1, 9); n > 0; n--)
        {
            int at = random.Next(builder.Length + 1);
            switch (random.Next(4))
            {
                case 0 when builder.Length > 0: builder.Remove(Math.Min(at, builder.Length - 1), Math.Min(random.Next(1, 16), builder.Length - Math.Min(at, builder.Length - 1))); break;
                case 1: builder.Insert(at, Noise[random.Next(Noise.Length)]); break;
                case 2 when at < builder.Length: builder[at] = Noise[random.Next(Noise.Length)]; break;
                default:
                    int start = random.Next(builder.Length + 1), length = Math.Min(random.Next(1, 64), builder.Length - start);
                    builder.Insert(at, builder.ToString(start, length));
                    break;
            }
        }
        return builder.ToString();
    }

    /// <summary>
    /// Runs up to <see cref="Iterations"/> inputs or <see cref="Seconds"/> seconds, whichever ends first. The run's
    /// base seed is random (set MOBILEVIT_FUZZ_SEED to replay one); a failure names the input's seed.
    /// </summary>
    private void Fuzz(string what, Func<int, ModelFolder> folder)
    {
        int baseSeed = int.TryParse(Environment.GetEnvironmentVariable("MOBILEVIT_FUZZ_SEED"), out int s) ? s : Random.Shared.Next();
        bool compileAll = Environment.GetEnvironmentVariable("MOBILEVIT_FUZZ_COMPILE") == "1";
        int accepted = 0, refused = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Iterations && clock.Elapsed.TotalSeconds < Seconds; i++)
        {
            int seed = baseSeed + i;
            var input = folder(seed); // a mutator bug surfaces here, outside the contract check
            try
            {
                // The first few accepted inputs are also compiled (MOBILEVIT_FUZZ_COMPILE=1: all of them).
                if (Check(input, compile: compileAll || accepted < 3).Accepted) accepted++;
                else refused++;
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{what}: input seed {seed} (MOBILEVIT_FUZZ_SEED={seed}) broke the contract: {e}");
            }
        }
        output.WriteLine($"{what}: base seed {baseSeed}: {accepted + refused} inputs in {clock.Elapsed.TotalSeconds:F1} s: {accepted} accepted, {refused} refused with MVC diagnostics");
        Assert.True(accepted + refused >= 200, $"only {accepted + refused} inputs ran in {Seconds} s");
    }

    [Fact]
    public void MutatedConfigJsonIsAcceptedOrRefusedWithDiagnostics()
        => Fuzz("config.json", seed => new ModelFolder("m", MutateConfig(seed), null));

    [Fact]
    public void MutatedWeightsHeaderIsAcceptedOrRefusedWithDiagnostics()
        => Fuzz("weights manifest", seed => Folder(manifest: MutateManifest(seed)));

    public static TheoryData<string> Corpus()
    {
        var data = new TheoryData<string>();
        string root = Path.Combine(ModelFolder.RepoRoot, "tests", "fuzz-corpus", "generator");
        foreach (var file in Directory.EnumerateFiles(root).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    /// <summary>Replays tests/fuzz-corpus/generator: *.config.json as config.json, *.manifest as the weights manifest.</summary>
    [Theory]
    [MemberData(nameof(Corpus))]
    public void FuzzCorpusRegression(string file)
    {
        string text = File.ReadAllText(Path.Combine(ModelFolder.RepoRoot, "tests", "fuzz-corpus", "generator", file));
        if (file.EndsWith(".manifest", StringComparison.Ordinal)) Check(Folder(manifest: text));
        else Check(new ModelFolder("m", text, null));
    }
}
