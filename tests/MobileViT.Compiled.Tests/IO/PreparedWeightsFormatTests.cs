using System.Buffers.Binary;
using System.Runtime.InteropServices;
using CsCheck;
using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Tests.IO;

/// <summary>
/// The prepared-weights blob: Write then Validate gives back the entries bit for bit at 64-byte-aligned offsets, and
/// every damaged or hostile header or entry table is refused with ModelLoadException (never another exception, never
/// a table entry reaching outside the blob).
/// </summary>
public sealed class PreparedWeightsFormatTests
{
    private const ulong Fingerprint = 0x0123456789abcdefUL;
    private const string Source = "test.prepared";
    private static readonly byte[] s_sha = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly PreparedWeightsFormat.SourceInfo s_source = new(123_456, 638_000_000_000_000_000, s_sha);

    /// <summary>Entries of awkward lengths (empty, 1, not a multiple of 16 floats) and special values.</summary>
    private static float[][] Entries()
    {
        var random = new Random(5);
        int[] lengths = [3, 0, 1, 16, 17, 100, 5];
        var entries = lengths.Select(n => Enumerable.Range(0, n).Select(_ => random.NextSingle() * 2 - 1).ToArray()).ToArray();
        entries[2][0] = float.NaN;
        entries[3][0] = float.NegativeInfinity;
        entries[3][1] = -0f;
        entries[3][2] = float.Epsilon;
        return entries;
    }

    private static readonly float[][] s_entries = Entries();

    private static byte[] Blob(float[][]? entries = null, ulong fingerprint = Fingerprint)
    {
        entries ??= s_entries;
        var blob = new byte[PreparedWeightsFormat.Length(entries)];
        PreparedWeightsFormat.Write(blob, entries, fingerprint, s_source);
        return blob;
    }

    private static (long Offset, int Count)[] Validate(byte[] blob, int? entryCount = null, ulong fingerprint = Fingerprint)
        => PreparedWeightsFormat.Validate(blob, blob.Length, fingerprint, entryCount ?? s_entries.Length, Source);

    private static ModelLoadException Refused(byte[] blob, int? entryCount = null, ulong fingerprint = Fingerprint)
    {
        var e = Assert.Throws<ModelLoadException>(() => Validate(blob, entryCount, fingerprint));
        Assert.Equal(Source, e.Source);
        Assert.Null(e.Tensor);
        Assert.StartsWith(Source + ": ", e.Message);
        return e;
    }

    private const int Table = PreparedWeightsFormat.HeaderLength;

    [Fact]
    public void WriteThenValidate_RoundTripsEveryEntryBitForBitAt64ByteOffsets()
    {
        var blob = Blob();
        Assert.Equal(PreparedWeightsFormat.Length(s_entries), blob.Length);
        Assert.True(PreparedWeightsFormat.HasMagic(blob));
        var table = Validate(blob);
        Assert.Equal(s_entries.Length, table.Length);
        long previousEnd = Table + 16 * s_entries.Length;
        for (int i = 0; i < table.Length; i++)
        {
            var (offset, count) = table[i];
            Assert.Equal(0, offset % 64);
            Assert.InRange(offset, previousEnd, previousEnd + 63); // packed: the next 64-byte boundary
            Assert.Equal(s_entries[i].Length, count);
            var data = blob.AsSpan((int)offset, count * sizeof(float));
            Assert.True(data.SequenceEqual(MemoryMarshal.AsBytes(s_entries[i].AsSpan())), $"entry {i} differs");
            previousEnd = offset + count * sizeof(float);
        }
        Assert.Equal(blob.Length, previousEnd);
    }

    [Fact]
    public void Header_FieldsAreWhereTheFormatSays()
    {
        var blob = Blob();
        Assert.Equal("MVCPREPW"u8.ToArray(), blob[..8]);
        Assert.Equal(PreparedWeightsFormat.Version, BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(8)));
        Assert.Equal(s_entries.Length, BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(12)));
        Assert.Equal(Fingerprint, BinaryPrimitives.ReadUInt64LittleEndian(blob.AsSpan(16)));
        Assert.Equal(blob.Length, BinaryPrimitives.ReadInt64LittleEndian(blob.AsSpan(24)));
        Assert.All(blob[80..128], b => Assert.Equal(0, b)); // reserved
    }

    [Fact]
    public void ReadSource_GivesBackTheSourceInfo()
    {
        var source = PreparedWeightsFormat.ReadSource(Blob());
        Assert.Equal(s_source.Length, source.Length);
        Assert.Equal(s_source.LastWriteTicks, source.LastWriteTicks);
        Assert.Equal(s_sha, source.Sha256);

        var blob = new byte[PreparedWeightsFormat.Length(s_entries)];
        PreparedWeightsFormat.Write(blob, s_entries, Fingerprint, new(1, 2, null));
        Assert.Equal(new byte[32], PreparedWeightsFormat.ReadSource(blob).Sha256); // no hash: zeros
    }

    [Fact]
    public void NoEntries_IsAValidBlob()
    {
        var blob = Blob([]);
        Assert.Empty(PreparedWeightsFormat.Validate(blob, blob.Length, Fingerprint, 0, Source));
    }

    [Fact]
    public void Write_RefusesAShortDestination_AndClearsStaleBytes()
    {
        long length = PreparedWeightsFormat.Length(s_entries);
        Assert.Throws<ArgumentException>(() => PreparedWeightsFormat.Write(new byte[length - 1], s_entries, Fingerprint, s_source));
        var dirty = Enumerable.Repeat((byte)0xAB, (int)length + 10).ToArray();
        PreparedWeightsFormat.Write(dirty, s_entries, Fingerprint, s_source);
        Assert.Equal(Blob(), dirty[..(int)length]);
    }

    [Fact]
    public void WrongMagic_IsRefused()
    {
        var blob = Blob();
        blob[7] ^= 0x20;
        Assert.Contains("not prepared MobileViT weights", Refused(blob).Message);
        Assert.Contains("not prepared MobileViT weights", Refused(new byte[200]).Message);
        // Shorter than the header, even with the magic.
        var e = Assert.Throws<ModelLoadException>(() => PreparedWeightsFormat.Validate(Blob()[..100], 100, Fingerprint, s_entries.Length, Source));
        Assert.Contains("MVCPREPW", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(-1)]
    public void OtherVersion_IsRefused(int version)
    {
        var blob = Blob();
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(8), version);
        var e = Refused(blob);
        Assert.Contains($"format version {version}", e.Message);
        Assert.Contains("prepare it again", e.Message);
    }

    [Fact]
    public void OtherFingerprint_IsRefusedAsAnotherArchitecture()
    {
        var e = Refused(Blob(fingerprint: Fingerprint ^ 1));
        Assert.Contains("another architecture", e.Message);
        Assert.Contains((Fingerprint ^ 1).ToString("x16"), e.Message);
        Assert.Contains(Fingerprint.ToString("x16"), e.Message);
    }

    [Fact]
    public void Truncated_IsRefused()
    {
        var blob = Blob();
        foreach (int cut in new[] { 1, 4, 64, blob.Length - Table - 1 })
        {
            var shorter = blob[..^cut];
            var e = Assert.Throws<ModelLoadException>(() => PreparedWeightsFormat.Validate(shorter, shorter.Length, Fingerprint, s_entries.Length, Source));
            Assert.Contains($"is {shorter.Length} bytes but its header says {blob.Length}: truncated", e.Message);
        }
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(-1L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void HeaderLengthChanged_IsRefused(long delta)
    {
        var blob = Blob();
        long declared = delta is 1 or -1 ? blob.Length + delta : delta;
        BinaryPrimitives.WriteInt64LittleEndian(blob.AsSpan(24), declared);
        Assert.Contains($"header says {declared}", Refused(blob).Message);
    }

    [Fact]
    public void WrongEntryCount_IsRefused()
    {
        // The model expects another count than the blob holds.
        Assert.Contains($"holds {s_entries.Length} entries; the compiled model reads {s_entries.Length + 1}", Refused(Blob(), s_entries.Length + 1).Message);
        Assert.Contains("reads 0", Refused(Blob(), 0).Message);
        // The header's count changed.
        var blob = Blob();
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(12), s_entries.Length - 1);
        Assert.Contains("damaged", Refused(blob).Message);
    }

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(int.MaxValue)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void HostileEntryCount_WhoseTableExceedsTheBlob_IsRefusedWithoutReadingIt(int count)
    {
        // Positive: a model that (absurdly) expects the same count, so only the table's end past the blob refuses it.
        var blob = Blob();
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(12), count);
        var e = Refused(blob, count > 0 ? count : s_entries.Length);
        Assert.Contains($"holds {count} entries", e.Message);
    }

    public static TheoryData<int, long, long> HostileEntries => new()
    {
        // entry, offset, float count
        { 0, 0, 3 },                           // in the header
        { 0, Table, 3 },                       // in the entry table
        { 1, -64, 0 },                         // negative
        { 2, 260, 1 },                         // not 64-byte aligned
        { 6, 1L << 40, 5 },                    // far past the end
        { 6, long.MaxValue - 63, 5 },          // overflow bait
        { 6, long.MinValue, 5 },
        { 5, 320, -1 },                        // negative count
        { 5, 320, 1L + int.MaxValue },         // more than an int
        { 5, 320, long.MaxValue },             // count * 4 overflows
        { 5, 320, long.MinValue },
        { 5, 320, 100_000 },                   // reaches past the end
    };

    [Theory]
    [MemberData(nameof(HostileEntries))]
    public void EntryPointingOutsideTheBlob_IsRefused(int entry, long offset, long count)
    {
        var blob = Blob();
        BinaryPrimitives.WriteInt64LittleEndian(blob.AsSpan(Table + 16 * entry), offset);
        BinaryPrimitives.WriteInt64LittleEndian(blob.AsSpan(Table + 16 * entry + 8), count);
        var e = Refused(blob);
        Assert.Contains($"entry {entry} (offset {offset}, {count} floats) lies outside the {blob.Length} bytes", e.Message);
    }

    [Fact]
    public void LastEntryEndingExactlyAtTheEnd_IsAccepted_OneFloatMoreIsNot()
    {
        var blob = Blob();
        int last = s_entries.Length - 1;
        var (offset, count) = Validate(blob)[last];
        Assert.Equal(blob.Length, offset + count * sizeof(float));
        BinaryPrimitives.WriteInt64LittleEndian(blob.AsSpan(Table + 16 * last + 8), count + 1);
        Refused(blob);
    }

    /// <summary>Validates, and checks that whatever it accepts lies inside the blob; true when accepted.</summary>
    private static bool ValidOrRefused(byte[] blob, long length)
    {
        (long Offset, int Count)[] table;
        try
        {
            table = PreparedWeightsFormat.Validate(blob, length, Fingerprint, s_entries.Length, Source);
        }
        catch (ModelLoadException e)
        {
            Assert.Equal(Source, e.Source);
            return false;
        }
        Assert.Equal(s_entries.Length, table.Length);
        foreach (var (offset, count) in table)
        {
            Assert.Equal(0, offset % 64);
            Assert.InRange(offset, Table + 16 * s_entries.Length, length);
            Assert.InRange(offset + 4L * count, offset, length);
        }
        return true;
    }

    [Fact]
    public void Fuzz_DamagedHeaderAndTable_ValidatesOrIsRefused()
    {
        var valid = Blob();
        int tableEnd = Table + 16 * s_entries.Length;
        int accepted = 0, refused = 0;
        // 1-4 bytes overwritten, mostly in the header and table, sometimes anywhere (data bytes: still valid).
        var damage = Gen.Select(Gen.Int[0, 9], Gen.Int[0, tableEnd - 1], Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Bool)
            .Array[1, 4];
        damage.Sample(changes =>
        {
            var blob = valid.ToArray();
            foreach (var (where, inHeader, anywhere, value, flipOneBit) in changes)
            {
                int at = where < 8 ? inHeader : anywhere;
                if (flipOneBit) blob[at] ^= (byte)(1 << (value & 7));
                else blob[at] = value;
            }
            if (ValidOrRefused(blob, blob.Length)) accepted++; else refused++;
        }, iter: 20_000, threads: 1);
        // The fuzzer hit both outcomes.
        Assert.True(accepted > 0 && refused > 0, $"accepted {accepted}, refused {refused}");
    }

    [Fact]
    public void Fuzz_ReservedAndDataBytes_NeverMatter()
    {
        var valid = Blob();
        int tableEnd = Table + 16 * s_entries.Length;
        // The source fields, the reserved bytes and everything past the table.
        Gen.Select(Gen.OneOf(Gen.Int[32, Table - 1], Gen.Int[tableEnd, valid.Length - 1]), Gen.Byte).Array[1, 8].Sample(changes =>
        {
            var blob = valid.ToArray();
            foreach (var (at, value) in changes) blob[at] = value;
            Assert.True(ValidOrRefused(blob, blob.Length));
        }, iter: 5_000, threads: 1);
    }

    [Fact]
    public void Fuzz_RandomHeaderFieldValues_ValidateOrAreRefused()
    {
        var valid = Blob();
        var interesting = Gen.OneOf(Gen.Long, Gen.Long[-2, 2000],
            Gen.OneOf(0L, 64L, 128L, 256L, int.MaxValue, 1L + int.MaxValue, uint.MaxValue, long.MaxValue, long.MinValue, valid.Length));
        // An 8-byte-aligned field of the header or table set to a value near the interesting ones.
        Gen.Select(Gen.Int[0, (Table + 16 * s_entries.Length) / 4 - 1], interesting, Gen.Bool).Array[1, 3].Sample(changes =>
        {
            var blob = valid.ToArray();
            foreach (var (slot, value, wide) in changes)
            {
                if (wide) BinaryPrimitives.WriteInt64LittleEndian(blob.AsSpan(slot / 2 * 8), value);
                else BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(slot * 4), (int)value);
            }
            ValidOrRefused(blob, blob.Length);
        }, iter: 20_000, threads: 1);
    }

    [Fact]
    public void Fuzz_EveryTruncation_IsRefused()
    {
        var valid = Blob();
        for (int n = 0; n < valid.Length; n++)
            Assert.False(ValidOrRefused(valid[..n], n));
        Assert.True(ValidOrRefused(valid, valid.Length));
    }
}
