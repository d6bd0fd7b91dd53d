using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using MobileViT.Compiled.IO;
using MobileViT.Compiled.Tests.Compiled;
using MobileViT.Compiled.Testing;
using Xunit.Abstractions;

namespace MobileViT.Compiled.Tests.Hardening;

/// <summary>
/// Fuzzes the safetensors reader (SafetensorsHeader + WeightLoader), bounded in count and time: every input is
/// either loaded (and then holds exactly the tensors asked for, at their shapes) or refused with
/// ModelLoadException; anything else (IndexOutOfRange, Overflow, OutOfMemory, InvalidOperation...) fails.
/// Inputs that once broke the contract are kept in tests/fuzz-corpus/safetensors and replayed.
/// </summary>
public class SafetensorsFuzzTests(ITestOutputHelper output)
{
    private static readonly byte[] s_fixture = File.ReadAllBytes(CompiledModels.WeightsPath("mobilevit-xx-small-fashion"));
    private static readonly int s_headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(s_fixture);
    private static readonly JsonObject s_header = JsonNode.Parse(Encoding.UTF8.GetString(s_fixture, 8, s_headerLength))!.AsObject();

    private static readonly ExpectedTensor[] s_small = [new("a", 2), new("b", 2, 2), new("c")];

    /// <summary>Loads, and checks the contract; returns true when accepted.</summary>
    private static bool LoadedOrRefused(byte[] file, IReadOnlyList<ExpectedTensor> expected)
    {
        WeightSet set;
        try
        {
            set = WeightLoader.Load(new MemoryStream(file, writable: false), "fuzz.safetensors", expected);
        }
        catch (ModelLoadException e)
        {
            Assert.Equal("fuzz.safetensors", e.Source);
            Assert.StartsWith("fuzz.safetensors: ", e.Message);
            if (e.Tensor is not null) Assert.Contains($"'{e.Tensor}'", e.Message);
            return false;
        }
        foreach (var tensor in expected)
            Assert.Equal(tensor.ElementCount, set.Get(tensor.Name).Length);
        return true;
    }

    // ---- 1. CsCheck: arbitrary bytes, and generated headers over small data -------------------------------------

    [Fact]
    public void ArbitraryBytesAreRefused()
        => Gen.Byte.Array[0, 300].Sample(bytes => { LoadedOrRefused(bytes, s_small); }, iter: 5000, threads: 1);

    private static readonly Gen<long> s_number = Gen.OneOf<long>(
        Gen.Long[-2, 40], Gen.OneOf(int.MaxValue, 1L + int.MaxValue, long.MaxValue, long.MinValue, 1L << 40, 1L << 62));

    private static readonly Gen<string> s_entry = Gen.Select(
        Gen.OneOf("F32", "F16", "BF16", "F32", "F16", "BF16", "I64", "U8", "F64", "Q4", ""),
        Gen.OneOf<long[]>(s_number.Array[0, 3], Gen.Const<long[]>([2]), Gen.Const<long[]>([2, 2]), Gen.Const<long[]>([])),
        s_number, s_number,
        Gen.Int[0, 9],
        (dtype, shape, begin, end, mangle) => mangle switch
        {
            0 => "5",
            1 => $"{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}]}}",
            2 => $"{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin}]}}",
            3 => $"{{\"dtype\":7,\"shape\":{begin},\"data_offsets\":[{begin},{end}]}}",
            4 => $"{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin}.5,{end}e3]}}",
            >= 6 when shape.All(d => d is >= 0 and <= 4) && begin is >= 0 and <= 40 => // consistent: the span fits the shape
                $"{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{begin + shape.Aggregate(1L, (p, d) => p * d) * SafetensorsHeader.DTypeSize(dtype)}]}}",
            _ => $"{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{end}]}}",
        });

    /// <summary>A header of 0-5 entries named a, b, c or d (duplicates allowed), over 0-64 data bytes, with a length prefix that is right, or not.</summary>
    private static readonly Gen<byte[]> s_generatedFile = Gen.Select(
        Gen.Select(Gen.OneOf("a", "b", "c", "d", "__metadata__"), s_entry, (name, entry) => $"\"{name}\":{entry}").Array[0, 5],
        Gen.Int[0, 64],
        Gen.OneOf<long>(Gen.Const(-1L), Gen.Const(-1L), Gen.Long[0, 200], Gen.Const(long.MaxValue)),
        (entries, dataLength, declared) =>
        {
            var data = new byte[dataLength];
            for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 37);
            var file = HalfPrecision.Build("{" + string.Join(",", entries) + "}", data);
            if (declared >= 0) BinaryPrimitives.WriteInt64LittleEndian(file, declared);
            return file;
        });

    [Fact]
    public void GeneratedHeadersAreLoadedOrRefused()
    {
        int loaded = 0, loadedA = 0, valid = 0, total = 0;
        s_generatedFile.Sample(file =>
        {
            total++;
            if (LoadedOrRefused(file, s_small)) loaded++;
            if (LoadedOrRefused(file, [new ExpectedTensor("a", 2)])) loadedA++; // the read and F16/BF16 conversion path
            if (LoadedOrRefused(file, [])) valid++; // header validation alone
        }, iter: 20_000, threads: 1, print: f => Encoding.UTF8.GetString(f));
        output.WriteLine($"generated headers: {total} files, {valid} with a valid header, {loadedA} loaded as a:[2], {loaded} as a, b and c");
    }

    // ---- 2. Mutations of the real fashion-model file, through the model's own manifest -------------------------

    internal static byte[] MutateFixture(int seed)
    {
        var random = new Random(seed);
        switch (random.Next(5))
        {
            case 0: // flip 1-8 bytes in the length prefix or the header
            {
                var bytes = s_fixture.ToArray();
                for (int n = random.Next(1, 9); n > 0; n--)
                    bytes[random.Next(8 + s_headerLength)] ^= (byte)(1 << random.Next(8));
                return bytes;
            }
            case 1: // truncate anywhere
                return s_fixture[..random.Next(s_fixture.Length)];
            case 2: // a different header length
            {
                var bytes = s_fixture.ToArray();
                long length = random.Next(3) switch { 0 => s_headerLength + random.Next(-16, 17), 1 => random.NextInt64(), _ => random.Next(s_fixture.Length) };
                BinaryPrimitives.WriteInt64LittleEndian(bytes, length);
                return bytes;
            }
            default: // structured edits of header entries, data unchanged
            {
                JsonObject header;
                lock (s_header) header = s_header.DeepClone().AsObject(); // JsonNode materializes lazily: not safe to share unlocked
                var names = header.Select(p => p.Key).Where(k => k != "__metadata__").ToArray();
                for (int n = random.Next(1, 4); n > 0; n--)
                {
                    string name = names[random.Next(names.Length)];
                    if (header[name] is not JsonObject entry) continue;
                    switch (random.Next(7))
                    {
                        case 0: entry["dtype"] = new[] { "F16", "BF16", "F64", "I32", "U8", "BOOL", "X" }[random.Next(7)]; break;
                        case 1 when entry["shape"] is JsonArray { Count: > 0 } shape: shape[random.Next(shape.Count)] = random.Next(-2, 2000); break;
                        case 2 when entry["data_offsets"] is JsonArray { Count: 2 } offsets: offsets[random.Next(2)] = random.NextInt64(-10, s_fixture.Length + 100); break;
                        case 3: header.Remove(name); break;
                        case 4: entry["shape"] = new JsonArray(); break;
                        case 5: entry.Remove("data_offsets"); break;
                        default:
                            if (header[names[random.Next(names.Length)]] is JsonNode source) header[name] = source.DeepClone();
                            break;
                    }
                }
                return HalfPrecision.Build(header.ToJsonString(), s_fixture[(8 + s_headerLength)..]);
            }
        }
    }

    [Fact]
    public void MutatedModelFilesAreLoadedOrRefused()
    {
        // CI bounds; MOBILEVIT_FUZZ_ITERATIONS / MOBILEVIT_FUZZ_SECONDS raise them for a longer local run.
        int iterations = int.TryParse(Environment.GetEnvironmentVariable("MOBILEVIT_FUZZ_ITERATIONS"), out int n) ? n : 3000;
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("MOBILEVIT_FUZZ_SECONDS"), out int t) ? t : 8;
        int baseSeed = int.TryParse(Environment.GetEnvironmentVariable("MOBILEVIT_FUZZ_SEED"), out int s) ? s : Random.Shared.Next();
        int accepted = 0, refused = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < iterations && clock.Elapsed.TotalSeconds < seconds; i++)
        {
            int seed = baseSeed + i;
            var file = MutateFixture(seed);
            try
            {
                if (LoadedOrRefused(file, FashionMobileViT.ExpectedTensors)) accepted++;
                else refused++;
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"input seed {seed} (MOBILEVIT_FUZZ_SEED={seed}) broke the contract: {e}");
            }
        }
        output.WriteLine($"mutated fashion files: base seed {baseSeed}: {accepted + refused} in {clock.Elapsed.TotalSeconds:F1} s: {accepted} loaded, {refused} refused");
        Assert.True(accepted + refused >= 200, $"only {accepted + refused} inputs ran in {seconds} s");
    }

    public static TheoryData<string> Corpus()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(CorpusDirectory).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    private static string CorpusDirectory => Path.Combine(Models.Fixtures.Root, "..", "fuzz-corpus", "safetensors");

    /// <summary>Replays tests/fuzz-corpus/safetensors against the small manifest and the fashion model's.</summary>
    [Theory]
    [MemberData(nameof(Corpus))]
    public void FuzzCorpusRegression(string name)
    {
        var file = File.ReadAllBytes(Path.Combine(CorpusDirectory, name));
        LoadedOrRefused(file, s_small);
        LoadedOrRefused(file, FashionMobileViT.ExpectedTensors);
        LoadedOrRefused(file, []);
    }
}
