using System.Buffers.Binary;
using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Tests.IO;

/// <summary>Loading against a compiled manifest: exact shapes, float dtypes converted to F32, every failure named.</summary>
public sealed class WeightLoaderTests : IDisposable
{
    private const string Source = "weights.safetensors";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mobilevit-io-tests-" + Guid.NewGuid().ToString("N")[..12]);

    public WeightLoaderTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static WeightSet Load(SafetensorsTestFile file, params ExpectedTensor[] expected)
        => WeightLoader.Load(new MemoryStream(file.ToBytes()), Source, expected);

    private static ModelLoadException Refused(Func<WeightSet> load, string? tensor, params string[] messageParts)
    {
        var e = Assert.Throws<ModelLoadException>(() => load());
        Assert.Equal(tensor, e.Tensor);
        if (tensor is not null) Assert.Contains($"'{tensor}'", e.Message);
        foreach (string part in messageParts) Assert.Contains(part, e.Message);
        return e;
    }

    [Fact]
    public void ValidFile_RoundTripsThroughADiskFile()
    {
        float[] weight = [1.5f, -2.25f, 3e-8f, float.MaxValue, -0f, 6];
        var file = new SafetensorsTestFile()
            .Raw("bn.num_batches_tracked", "I64", [], new byte[8])
            .F32("conv.weight", [2, 1, 1, 3], weight)
            .F32("conv.bias", [2], 0.5f, -0.5f)
            .F32("unused", [3], 9, 9, 9);
        string path = Path.Combine(_directory, "model.safetensors");
        File.WriteAllBytes(path, file.ToBytes());

        var set = WeightLoader.Load(path, [new ExpectedTensor("conv.weight", 2, 1, 1, 3), new ExpectedTensor("conv.bias", 2)]);

        Assert.Equal(path, set.Source);
        Assert.Equal(weight, set.Get("conv.weight"));
        Assert.Equal([0.5f, -0.5f], set.Get("conv.bias"));
        // Tensors the manifest does not name are neither loaded nor reachable (the I64 counter is never converted).
        Refused(() => { set.Get("unused"); return set; }, "unused", "not in the compiled manifest");
    }

    [Fact]
    public void MissingFile_IsAModelLoadExceptionNamingThePath()
    {
        string path = Path.Combine(_directory, "nope.safetensors");
        var e = Refused(() => WeightLoader.Load(path, [new ExpectedTensor("w", 1)]), null, "cannot be opened");
        Assert.Equal(path, e.Source);
        Assert.IsAssignableFrom<IOException>(e.InnerException);
    }

    [Fact]
    public void TruncatedFileOnDisk_IsRefused()
    {
        var file = new SafetensorsTestFile().F32("a", [2], 1, 2).F32("b", [2], 3, 4);
        string path = Path.Combine(_directory, "truncated.safetensors");
        File.WriteAllBytes(path, file.ToBytes()[..^1]);
        Refused(() => WeightLoader.Load(path, [new ExpectedTensor("a", 2), new ExpectedTensor("b", 2)]), "b", "outside");
    }

    [Fact]
    public void StreamShorterThanItClaims_IsATruncationError()
    {
        // The header promises 64 bytes of data; the stream says it has them but ends after the header.
        var file = new SafetensorsTestFile().F32("w", [16], new float[16]);
        byte[] bytes = file.ToBytes();
        int headerEnd = bytes.Length - 64;
        var stream = new LyingStream(bytes[..headerEnd], bytes.Length);
        var e = Refused(() => WeightLoader.Load(stream, Source, [new ExpectedTensor("w", 16)]), null, "truncated");
        Assert.IsType<EndOfStreamException>(e.InnerException);
    }

    [Fact]
    public void MissingTensor_IsRefused_NamingItAndTheShapeExpected()
        => Refused(() => Load(new SafetensorsTestFile().F32("a", [1], 1), new ExpectedTensor("a", 1), new ExpectedTensor("b.weight", 4, 2)),
            "b.weight", "missing", "[4, 2]");

    [Fact]
    public void WrongShape_IsRefused_NamingBothShapes()
        => Refused(() => Load(new SafetensorsTestFile().F32("w", [3, 2], 1, 2, 3, 4, 5, 6), new ExpectedTensor("w", 2, 3)),
            "w", "[3, 2]", "[2, 3]");

    [Fact]
    public void WrongRank_IsRefused()
        => Refused(() => Load(new SafetensorsTestFile().F32("w", [6], 1, 2, 3, 4, 5, 6), new ExpectedTensor("w", 6, 1)),
            "w", "[6]", "[6, 1]");

    [Theory]
    [InlineData("I64", 8)]
    [InlineData("I32", 4)]
    [InlineData("F64", 8)]
    [InlineData("U8", 1)]
    [InlineData("BOOL", 1)]
    public void UnsupportedDType_IsRefused(string dtype, int size)
        => Refused(() => Load(new SafetensorsTestFile().Raw("bn.num_batches_tracked", dtype, [2], new byte[2 * size]),
                new ExpectedTensor("bn.num_batches_tracked", 2)),
            "bn.num_batches_tracked", dtype, "F32, F16 or BF16");

    [Fact]
    public void MalformedHeader_IsRefusedByTheLoaderToo()
        => Refused(() => WeightLoader.Load(new MemoryStream(SafetensorsTestFile.Build("[]", [])), Source, [new ExpectedTensor("w", 1)]),
            null, "not an object");

    [Fact]
    public void NonSeekableStream_IsAnArgumentError()
        => Assert.Throws<ArgumentException>(() => WeightLoader.Load(new NonSeekableStream(), Source, []));

    [Fact]
    public void F16_IsConvertedExactly()
    {
        Half[] values = [(Half)0, (Half)1, (Half)(-2.5f), (Half)0.333f, Half.MaxValue, Half.Epsilon, Half.NegativeInfinity, (Half)(-0f)];
        var bytes = new byte[2 * values.Length];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), values[i]);

        var set = Load(new SafetensorsTestFile().Raw("h", "F16", [2, 4], bytes), new ExpectedTensor("h", 2, 4));

        Assert.Equal(values.Select(v => (float)v).ToArray(), set.Get("h"));
        Assert.Equal(65504f, set.Get("h")[4]);
        Assert.Equal(5.9604645e-8f, set.Get("h")[5]);
        Assert.True(float.IsNegative(set.Get("h")[7]));
    }

    [Fact]
    public void F16_NaNStaysNaN()
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, 0x7E00);
        Assert.True(float.IsNaN(Load(new SafetensorsTestFile().Raw("h", "F16", [1], bytes), new ExpectedTensor("h", 1)).Get("h")[0]));
    }

    [Fact]
    public void BF16_IsTheUpperHalfOfTheF32Bits()
    {
        float[] expected = [1f, -2.5f, 3.140625f, float.NegativeInfinity, -0f, 1.0e38f];
        var bytes = new byte[2 * expected.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(expected[i]);
            expected[i] = BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u); // what BF16 can hold
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), (ushort)(bits >> 16));
        }

        var set = Load(new SafetensorsTestFile().Raw("b", "BF16", [6], bytes), new ExpectedTensor("b", 6));

        Assert.Equal(expected, set.Get("b"));
        Assert.Equal([1f, -2.5f, 3.140625f], set.Get("b")[..3]);
    }

    private sealed class LyingStream(byte[] content, long claimedLength) : Stream
    {
        private readonly MemoryStream _inner = new(content);
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => claimedLength;
        public override long Position { get => _inner.Position; set => _inner.Position = value; }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class NonSeekableStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => 0;
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
