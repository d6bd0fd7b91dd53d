using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using MobileViT.Compiled.IO;
using MobileViT.Compiled.Tests.Compiled;
using MobileViT.Compiled.Tests.IO;
using MobileViT.Compiled.Tests.Models;
using MobileViT.Compiled.Testing;

namespace MobileViT.Compiled.Tests.Hardening;

/// <summary>
/// Load(path) on truncated, corrupt and hostile files and on other architectures' weights: always exactly
/// ModelLoadException, naming the file (and the tensor when one is at fault) and what is wrong; never another
/// exception, never an instance. Also: F16/BF16 checkpoints against F32.
/// </summary>
public sealed class HostileLoadTests : IDisposable
{
    private const string Model = "mobilevit-xx-small-fashion";
    private static readonly byte[] s_weights = File.ReadAllBytes(CompiledModels.WeightsPath(Model));
    private static readonly int s_headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(s_weights);
    private static readonly string s_headerText = Encoding.UTF8.GetString(s_weights, 8, s_headerLength);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mobilevit-hardening-" + Guid.NewGuid().ToString("N")[..12]);

    public HostileLoadTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static JsonObject Header() => JsonNode.Parse(s_headerText)!.AsObject();

    private static long DataLength => s_weights.Length - 8 - s_headerLength;

    /// <summary>The fixture's data under an edited header (the data bytes unchanged).</summary>
    private static byte[] WithHeader(Action<JsonObject> change)
    {
        var header = Header();
        change(header);
        return HalfPrecision.Build(header.ToJsonString(), s_weights[(8 + s_headerLength)..]);
    }

    private static byte[] WithHeaderLength(ulong length)
    {
        var bytes = s_weights.ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length);
        return bytes;
    }

    private static byte[] SameLengthHeader(string text)
    {
        var bytes = s_weights.ToArray();
        var replacement = Encoding.UTF8.GetBytes(text.PadRight(s_headerLength));
        replacement.AsSpan(0, s_headerLength).CopyTo(bytes.AsSpan(8));
        return bytes;
    }

    private static string LastTensor => Header().Where(p => p.Key != "__metadata__").MaxBy(p => p.Value!["data_offsets"]![1]!.GetValue<long>()).Key;

    private static void SetSpan(JsonObject header, string name, long begin, long end) => header[name]!["data_offsets"] = new JsonArray(begin, end);

    private static long Begin(JsonObject header, string name) => header[name]!["data_offsets"]![0]!.GetValue<long>();

    /// <summary>name -> (file bytes, expected tensor or null, message parts).</summary>
    private static readonly Dictionary<string, (Func<byte[]> Bytes, string? Tensor, string[] Parts)> s_cases = new()
    {
        ["empty file"] = (() => [], null, ["0 bytes long"]),
        ["4 bytes"] = (() => [1, 2, 3, 4], null, ["4 bytes long"]),
        ["truncated in the header"] = (() => s_weights[..100], null, ["larger than the file", "truncated"]),
        ["truncated by one byte (header intact, data short)"] = (() => s_weights[..^1], LastTensor, ["outside"]),
        ["truncated to half"] = (() => s_weights[..(s_weights.Length / 2)], null, ["outside"]),
        ["header only, no data"] = (() => s_weights[..(8 + s_headerLength)], null, ["data bytes"]),
        ["header length 2^64-1"] = (() => WithHeaderLength(ulong.MaxValue), null, ["18446744073709551615", "larger than the file"]),
        ["header length 2^40"] = (() => WithHeaderLength(1UL << 40), null, ["1099511627776", "larger than the file"]),
        ["header length 0"] = (() => WithHeaderLength(0), null, ["too small"]),
        ["header length cuts the JSON"] = (() => WithHeaderLength((ulong)s_headerText.LastIndexOf('}')), null, ["not valid JSON"]),
        ["header not JSON"] = (() => SameLengthHeader("this is not json"), null, ["not valid JSON"]),
        ["header a JSON array"] = (() => SameLengthHeader("[1, 2, 3]"), null, ["not an object"]),
        ["header nested 10000 deep"] = (() => HalfPrecision.Build("{\"a\":" + new string('[', 10_000), []), null, ["not valid JSON"]),
        ["header invalid UTF-8"] = (() => { var b = s_weights.ToArray(); b[8 + 3] = 0xFF; return b; }, null, ["not valid JSON"]),
        ["header with NUL bytes"] = (() => { var b = s_weights.ToArray(); b.AsSpan(8, 16).Clear(); return b; }, null, ["not valid JSON"]),
        ["PNG file"] = (() => [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R'], null, ["larger than the file"]),
        ["overlapping offsets"] = (() => WithHeader(h => SetSpan(h, "classifier.bias", Begin(h, "classifier.weight"), Begin(h, "classifier.weight") + 40)), null, ["overlaps"]),
        ["offsets past the end"] = (() => WithHeader(h => SetSpan(h, "classifier.bias", DataLength, DataLength + 40)), "classifier.bias", ["outside"]),
        ["offsets reversed"] = (() => WithHeader(h => SetSpan(h, "classifier.bias", 40, 0)), "classifier.bias", ["[40, 0]"]),
        ["offset negative"] = (() => WithHeader(h => SetSpan(h, "classifier.bias", -40, 0)), "classifier.bias", ["invalid data offset -40"]),
        ["offset 2^63"] = (() => WithHeader(h => h["classifier.bias"]!["data_offsets"] = JsonNode.Parse("[0, 9223372036854775808]")), "classifier.bias", ["invalid data offset"]),
        ["offset fractional"] = (() => WithHeader(h => h["classifier.bias"]!["data_offsets"] = JsonNode.Parse("[0.5, 40.5]")), "classifier.bias", ["invalid data offset"]),
        ["span does not fit shape"] = (() => WithHeader(h => SetSpan(h, "classifier.bias", Begin(h, "classifier.bias"), Begin(h, "classifier.bias") + 36)), "classifier.bias", ["needs 40"]),
        ["shape dim negative"] = (() => WithHeader(h => h["classifier.bias"]!["shape"] = new JsonArray(-10)), "classifier.bias", ["-10"]),
        ["shape dim 2^40"] = (() => WithHeader(h => h["classifier.bias"]!["shape"] = new JsonArray(1L << 40)), "classifier.bias", ["1099511627776"]),
        ["shape product overflows"] = (() => WithHeader(h => h["classifier.bias"]!["shape"] = new JsonArray(65536, 65536, 65536, 65536)), "classifier.bias", ["more elements than the file has bytes"]),
        ["shape of 9 dims"] = (() => WithHeader(h => h["classifier.bias"]!["shape"] = new JsonArray(1, 1, 1, 1, 1, 1, 1, 1, 10)), "classifier.bias", ["9 dimensions"]),
        ["entry not an object"] = (() => WithHeader(h => h["classifier.bias"] = 5), "classifier.bias", ["not an object"]),
        ["dtype unknown"] = (() => WithHeader(h => h["classifier.bias"]!["dtype"] = "Q4_K"), "classifier.bias", ["unknown dtype 'Q4_K'"]),
        ["dtype missing"] = (() => WithHeader(h => h["classifier.bias"]!.AsObject().Remove("dtype")), "classifier.bias", ["dtype"]),
        ["dtype I32 (right size)"] = (() => WithHeader(h => h["classifier.bias"]!["dtype"] = "I32"), "classifier.bias", ["I32", "F32, F16 or BF16"]),
        ["missing tensor"] = (() => WithHeader(h => h.Remove("classifier.bias")), "classifier.bias", ["missing", "[10]", "another architecture"]),
        ["wrong shape"] = (() => WithHeader(h => h["classifier.weight"]!["shape"] = new JsonArray(320, 10)), "classifier.weight", ["[320, 10]", "[10, 320]"]),
        ["duplicate tensor name"] = (() => HalfPrecision.Build(s_headerText.TrimEnd().Insert(1, "\"classifier.bias\":" + Header()["classifier.bias"]!.ToJsonString() + ","), s_weights[(8 + s_headerLength)..]), "classifier.bias", ["appears twice"]),
        ["another architecture: mobilevit-xx-small (ImageNet)"] = (() => File.ReadAllBytes(CompiledModels.WeightsPath("mobilevit-xx-small")), "mobilevit.conv_stem.convolution.weight", ["has shape", "another architecture"]),
        ["another architecture: mobilevitv2-0.5"] = (() => File.ReadAllBytes(CompiledModels.WeightsPath("mobilevitv2-0.5")), null, ["another architecture"]),
        ["another architecture: deeplabv3"] = (() => File.ReadAllBytes(CompiledModels.WeightsPath("deeplabv3-mobilevit-xx-small")), null, ["another architecture"]),
    };

    public static TheoryData<string> Cases() => new(s_cases.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void LoadOfAHostileFileThrowsModelLoadExceptionNamingTheProblem(string name)
    {
        var (bytes, tensor, parts) = s_cases[name];
        string path = Path.Combine(_directory, "model.safetensors");
        File.WriteAllBytes(path, bytes());
        var e = Assert.Throws<ModelLoadException>(() => FashionMobileViT.Load(path, 1));
        Assert.Equal(path, e.Source);
        Assert.StartsWith(path + ": ", e.Message);
        if (tensor is not null)
        {
            Assert.Equal(tensor, e.Tensor);
            Assert.Contains($"tensor '{tensor}'", e.Message);
        }
        foreach (string part in parts) Assert.Contains(part, e.Message);
    }

    [Fact]
    public void UnreadablePathsAreModelLoadExceptions()
    {
        Assert.Contains("cannot be opened", Assert.Throws<ModelLoadException>(() => FashionMobileViT.Load(_directory, 1)).Message); // a directory
        Assert.Contains("cannot be opened", Assert.Throws<ModelLoadException>(() => FashionMobileViT.Load("", 1)).Message);
        Assert.Contains("cannot be opened", Assert.Throws<ModelLoadException>(() => FashionMobileViT.Load("bad\0path", 1)).Message);
        Assert.Throws<ArgumentNullException>(() => FashionMobileViT.Load(null!, 1));
    }

    [Fact]
    public void AFailedLoadLeavesNothingBehindAndTheNextLoadIsWhole()
    {
        string path = Path.Combine(_directory, "model.safetensors");
        File.WriteAllBytes(path, s_weights[..^1]);
        Assert.Throws<ModelLoadException>(() => FashionMobileViT.Load(path, 1));
        File.WriteAllBytes(path, s_weights);
        using var loaded = FashionMobileViT.Load(path, 1);
        using var embedded = FashionMobileViT.Create(1);
        var input = Fixtures.Reference(Model, "input.test16").AsSpan(0, FashionMobileViT.InputLength).ToArray();
        float[] a = new float[10], b = new float[10];
        loaded.Run(input, a);
        embedded.Run(input, b);
        Assert.Equal(b, a);
    }

    [Fact]
    public void AHugeTensorTheModelDoesNotNeedIsNeitherReadNorAllocated()
    {
        // A 1 TiB "file" (nothing stored) whose header adds a 1 TiB tensor: only the manifest's tensors are read,
        // so loading allocates about what the model needs (~4 MB), not what the file declares.
        var header = Header();
        const long big = 1L << 40;
        header["attack.weight"] = new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(1 << 18, 1 << 20), ["data_offsets"] = new JsonArray(DataLength, DataLength + big) };
        byte[] prefix = HalfPrecision.Build(header.ToJsonString(), s_weights[(8 + s_headerLength)..]);
        long length = prefix.Length + big;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var set = WeightLoader.Load(new SparseStream(prefix, length), "sparse", FashionMobileViT.ExpectedTensors);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.NotNull(set.Get("classifier.weight"));
        Assert.InRange(allocated, 0, 64L << 20);
    }

    [Theory]
    [InlineData("F16", 3e-2)]
    [InlineData("BF16", 1e-1)]
    public void HalfPrecisionWeightsLoadAndMatchF32(string dtype, double relativeTolerance)
    {
        string path = Path.Combine(_directory, dtype + ".safetensors");
        File.WriteAllBytes(path, HalfPrecision.Convert(s_weights, dtype));
        using var half = FashionMobileViT.Load(path, 1);
        using var full = FashionMobileViT.Create(1);
        var inputs = Fixtures.Reference(Model, "input.test16");
        float[] a = new float[10], b = new float[10];
        double worst = 0;
        for (int i = 0; i < 16; i++)
        {
            var input = inputs.AsSpan(i * FashionMobileViT.InputLength, FashionMobileViT.InputLength);
            half.Run(input, a);
            full.Run(input, b);
            float scale = Math.Max(1f, b.Max(Math.Abs));
            double error = a.Zip(b, (x, y) => Math.Abs(x - y)).Max() / scale;
            worst = Math.Max(worst, error);
            Assert.True(error <= relativeTolerance, $"{dtype} image {i}: max |{dtype} - F32| / max(1, max|F32|) = {error}");
            Assert.Equal(Fixtures.TopK(b, 1), Fixtures.TopK(a, 1));
        }
        Console.WriteLine($"{dtype}: worst relative logit error over 16 images {worst:E2}");
    }
}

/// <summary>The storage failing part-way through a load (disk error, share gone) is a ModelLoadException too.</summary>
public class FailingStorageTests
{
    [Theory]
    [InlineData(4)]        // inside the length prefix
    [InlineData(100)]      // inside the header
    [InlineData(1 << 20)]  // inside the data
    public void AReadErrorPartWayIsAModelLoadException(int failAfter)
    {
        var bytes = File.ReadAllBytes(CompiledModels.WeightsPath("mobilevit-xx-small-fashion"));
        var e = Assert.Throws<ModelLoadException>(() => WeightLoader.Load(new FailingStream(bytes, failAfter), "flaky.safetensors", FashionMobileViT.ExpectedTensors));
        Assert.Contains("could not be read", e.Message);
        Assert.IsType<IOException>(e.InnerException);
    }

    private sealed class FailingStream(byte[] content, int failAfter) : MemoryStream(content, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count)
            => Position + count > failAfter ? throw new IOException("simulated device error") : base.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer)
            => Position + buffer.Length > failAfter ? throw new IOException("simulated device error") : base.Read(buffer);
    }
}
