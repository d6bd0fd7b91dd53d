using System.Buffers.Binary;
using System.Text;
using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Tests.IO;

/// <summary>The header reader refuses every malformed or hostile header with a ModelLoadException naming the tensor.</summary>
public sealed class SafetensorsHeaderTests
{
    private const string Source = "test.safetensors";

    private static SafetensorsHeader Read(byte[] bytes) => SafetensorsHeader.Read(new MemoryStream(bytes), Source);

    private static ModelLoadException Refused(byte[] bytes, string? tensor, params string[] messageParts)
    {
        var e = Assert.Throws<ModelLoadException>(() => Read(bytes));
        Assert.Equal(Source, e.Source);
        Assert.Equal(tensor, e.Tensor);
        Assert.StartsWith(Source + ": ", e.Message);
        if (tensor is not null) Assert.Contains($"'{tensor}'", e.Message);
        foreach (string part in messageParts) Assert.Contains(part, e.Message);
        return e;
    }

    private static byte[] File(string headerJson, int dataLength = 64) => SafetensorsTestFile.Build(headerJson, new byte[dataLength]);

    [Fact]
    public void ValidHeader_IsReadWithItsEntries()
    {
        var file = new SafetensorsTestFile()
            .F32("a.weight", [2, 3], 1, 2, 3, 4, 5, 6)
            .F32("b.bias", [2], 7, 8)
            .Raw("c.num_batches_tracked", "I64", [], new byte[8]);
        var header = Read(file.ToBytes());

        Assert.Equal(3, header.Entries.Count);
        Assert.DoesNotContain("__metadata__", header.Entries.Keys);
        Assert.Equal(("F32", 0L, 24L), (header.Entries["a.weight"].DType, header.Entries["a.weight"].Begin, header.Entries["a.weight"].End));
        Assert.Equal([2, 3], header.Entries["a.weight"].Shape);
        Assert.Equal((24L, 32L), (header.Entries["b.bias"].Begin, header.Entries["b.bias"].End));
        Assert.Equal("I64", header.Entries["c.num_batches_tracked"].DType);
        Assert.Empty(header.Entries["c.num_batches_tracked"].Shape);
        Assert.Equal(40, header.DataLength);
        Assert.Equal(8 + header.HeaderLength, header.DataStart);
        Assert.Equal(0, header.HeaderLength % 8);
    }

    [Fact]
    public void FileShorterThanTheLengthPrefix_IsRefused()
        => Refused([1, 0, 0], null, "3 bytes");

    [Fact]
    public void HeaderLengthLargerThanTheFile_IsRefused()
    {
        byte[] bytes = SafetensorsTestFile.Build("{}", new byte[16], declaredHeaderLength: 1000);
        Refused(bytes, null, "1000", $"{bytes.Length} bytes");
    }

    [Fact]
    public void HeaderLengthNearUInt64Max_IsRefused()
    {
        byte[] bytes = SafetensorsTestFile.Build("{}", new byte[16], declaredHeaderLength: ulong.MaxValue);
        Refused(bytes, null, ulong.MaxValue.ToString());
    }

    [Fact]
    public void AbsurdHeaderLength_WithinAHugeFile_IsRefusedBeforeAllocating()
    {
        // A 1 GiB "file" (nothing stored) declaring a 512 MiB header: within the file, beyond the limit.
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, 512UL << 20);
        var e = Assert.Throws<ModelLoadException>(() => SafetensorsHeader.Read(new SparseStream(prefix, 1L << 30), Source));
        Assert.Null(e.Tensor);
        Assert.Contains((512L << 20).ToString(), e.Message);
        Assert.Contains(SafetensorsHeader.MaxHeaderLength.ToString(), e.Message);
    }

    [Fact]
    public void HeaderTooSmallForAnObject_IsRefused()
        => Refused(SafetensorsTestFile.Build("", new byte[8], declaredHeaderLength: 1), null, "too small");

    [Theory]
    [InlineData("this is not json")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", ")]
    [InlineData("{\"a\" \"b\"}")]
    public void NonJsonHeader_IsRefused(string header)
        => Refused(File(header), null, "not valid JSON");

    [Fact]
    public void InvalidUtf8Header_IsRefused()
    {
        byte[] bytes = File("{\"a\":1}");
        bytes[10] = 0xFF;
        Refused(bytes, null, "not valid JSON");
    }

    [Fact]
    public void InvalidUtf8InADType_IsRefused()
    {
        byte[] bytes = File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        bytes[8 + "{\"w\":{\"dtype\":\"".Length] = 0xC3; // a lead byte without its continuation
        Refused(bytes, null, "not valid JSON");
    }

    [Theory]
    [InlineData("{} trailing")]
    [InlineData("{}{}")]
    public void TrailingContentAfterTheHeaderObject_IsRefused(string header)
        => Refused(File(header), null, "not valid JSON");

    [Theory]
    [InlineData("[1, 2, 3]", "Array")]
    [InlineData("\"text\"", "String")]
    [InlineData("42", "Number")]
    [InlineData("null", "Null")]
    public void NonObjectHeader_IsRefused(string header, string kind)
        => Refused(File(header), null, kind, "not an object");

    [Fact]
    public void NonObjectEntry_IsRefused()
        => Refused(File("{\"w\": [1, 2]}"), "w", "not an object");

    [Fact]
    public void DuplicateNames_AreRefused()
        => Refused(File("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"""),
            "w", "twice");

    [Fact]
    public void OverlappingOffsets_AreRefused_NamingBothTensors()
    {
        var e = Refused(File("""{"first":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"second":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"""),
            "second", "overlaps", "'first'");
        Assert.Contains("[8, 24]", e.Message);
    }

    [Fact]
    public void OffsetsBeyondTheData_AreRefused()
        => Refused(File("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[56,72]}}""", dataLength: 64), "w", "[56, 72]", "64 data bytes");

    [Fact]
    public void TruncatedData_IsRefused_NamingTheTensorThatNoLongerFits()
    {
        var file = new SafetensorsTestFile().F32("a", [4], 1, 2, 3, 4).F32("b", [4], 5, 6, 7, 8);
        byte[] bytes = file.ToBytes();
        Refused(bytes[..^3], "b", "[16, 32]", "29 data bytes");
    }

    [Fact]
    public void ReversedOffsets_AreRefused()
        => Refused(File("""{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"""), "w", "[8, 4]");

    [Theory]
    [InlineData("[-1,4]")]
    [InlineData("[1.5,4]")]
    [InlineData("[\"a\",4]")]
    public void InvalidOffsets_AreRefused(string offsets)
        => Refused(File($$$"""{"w":{"dtype":"F32","shape":[1],"data_offsets":{{{offsets}}}}}"""), "w", "invalid data offset");

    [Fact]
    public void MissingOffsets_AreRefused()
        => Refused(File("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"""), "w", "data_offsets");

    [Fact]
    public void SizeNotMatchingTheShape_IsRefused()
        => Refused(File("""{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"""), "w", "12 bytes", "[2, 2]", "16");

    [Fact]
    public void ShapeLargerThanTheFile_IsRefusedBeforeMultiplyingOut()
        => Refused(File("""{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,4]}}"""), "w", "more elements than the file has bytes");

    [Theory]
    [InlineData("[-3]")]
    [InlineData("[2.5]")]
    [InlineData("[4294967296]")]
    [InlineData("[\"4\"]")]
    public void InvalidDimensions_AreRefused(string shape)
        => Refused(File($$$"""{"w":{"dtype":"F32","shape":{{{shape}}},"data_offsets":[0,4]}}"""), "w", "invalid dimension");

    [Fact]
    public void TooManyDimensions_AreRefused()
        => Refused(File("""{"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}"""), "w", "9 dimensions");

    [Fact]
    public void UnknownDType_IsRefused()
        => Refused(File("""{"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"""), "w", "unknown dtype 'F33'");

    [Fact]
    public void MissingDType_IsRefused()
        => Refused(File("""{"w":{"shape":[1],"data_offsets":[0,4]}}"""), "w", "dtype");

    [Fact]
    public void DeeplyNestedHeader_IsRefusedAsInvalidJson()
        => Refused(File("{\"__metadata__\":" + new string('[', 100) + new string(']', 100) + "}"), null, "not valid JSON");

    [Theory]
    [InlineData("F64", 8)] [InlineData("I64", 8)] [InlineData("F32", 4)] [InlineData("F16", 2)] [InlineData("BF16", 2)]
    [InlineData("U8", 1)] [InlineData("BOOL", 1)] [InlineData("F8_E4M3", 1)] [InlineData("complex", 0)] [InlineData("f32", 0)]
    public void DTypeSizes(string dtype, int size) => Assert.Equal(size, SafetensorsHeader.DTypeSize(dtype));

    [Fact]
    public void Parse_AcceptsHeaderBytesDirectly()
    {
        var header = SafetensorsHeader.Parse(Encoding.UTF8.GetBytes("""{"w":{"dtype":"BF16","shape":[3],"data_offsets":[2,8]}}"""), 8, Source);
        Assert.Equal(("BF16", 2L, 8L), (header.Entries["w"].DType, header.Entries["w"].Begin, header.Entries["w"].End));
    }
}
