using System.Buffers.Binary;

namespace MobileViT.Compiled.IO;

/// <summary>
/// The prepared-weights format: what the build embeds and <c>Load</c> maps. Little-endian.
/// <code>
///   0  8  magic "MVCPREPW"
///   8  4  format version (<see cref="Version"/>)
///  12  4  entry count
///  16  8  architecture fingerprint (the generated class's WeightsFingerprint: a hash of its weight recipe)
///  24  8  total length in bytes
///  32  8  source length: bytes of the safetensors file it was prepared from
///  40  8  source last-write time, UTC ticks (what a prepared cache is checked against)
///  48 32  source SHA-256, or zeros
///  80 32  source sample: SHA-256 of four 64 KiB blocks of the source (start, a third, two thirds, end)
/// 112 16  reserved, zeros
/// 128     entry table: per entry, u64 byte offset and u64 float count
///         entries, each on a 64-byte boundary
/// </code>
/// Checking a blob costs O(1) in its size: the header fields and the entry table, never the data.
/// </summary>
public static class PreparedWeightsFormat
{
    public const int Version = 1;
    public const int HeaderLength = 128;
    private const int Alignment = 64;
    private static ReadOnlySpan<byte> Magic => "MVCPREPW"u8;

    /// <summary>The source file a blob was prepared from.</summary>
    public readonly record struct SourceInfo(long Length, long LastWriteTicks, byte[]? Sha256, byte[]? Sample = null);

    /// <summary>The length of a blob holding <paramref name="entries"/>.</summary>
    public static long Length(float[][] entries)
    {
        long at = TableEnd(entries.Length);
        foreach (var entry in entries) at = Align(at) + (long)entry.Length * sizeof(float);
        return at;
    }

    /// <summary>Writes the blob into <paramref name="destination"/> (at least <see cref="Length"/> bytes).</summary>
    public static void Write(Span<byte> destination, float[][] entries, ulong fingerprint, SourceInfo source)
    {
        long length = Length(entries);
        if (destination.Length < length) throw new ArgumentException("destination is too short", nameof(destination));
        destination[..(int)length].Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], entries.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], fingerprint);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], length);
        BinaryPrimitives.WriteInt64LittleEndian(destination[32..], source.Length);
        BinaryPrimitives.WriteInt64LittleEndian(destination[40..], source.LastWriteTicks);
        source.Sha256?.CopyTo(destination[48..80]);
        source.Sample?.CopyTo(destination[80..112]);
        long at = TableEnd(entries.Length);
        for (int i = 0; i < entries.Length; i++)
        {
            at = Align(at);
            BinaryPrimitives.WriteInt64LittleEndian(destination[(HeaderLength + 16 * i)..], at);
            BinaryPrimitives.WriteInt64LittleEndian(destination[(HeaderLength + 16 * i + 8)..], entries[i].Length);
            var bytes = destination.Slice((int)at, entries[i].Length * sizeof(float));
            for (int j = 0; j < entries[i].Length; j++)
                BinaryPrimitives.WriteSingleLittleEndian(bytes[(4 * j)..], entries[i][j]);
            at += bytes.Length;
        }
    }

    /// <summary>True when <paramref name="prefix"/> (the first bytes of a file) starts like a prepared blob.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> prefix) => prefix.StartsWith(Magic);

    /// <summary>
    /// Checks a blob's header and entry table against what the compiled model reads; the entries' (offset, count).
    /// </summary>
    /// <exception cref="ModelLoadException">Not a prepared blob, another version or architecture, truncated or damaged.</exception>
    public static (long Offset, int Count)[] Validate(ReadOnlySpan<byte> blob, long length, ulong fingerprint, int entryCount, string source)
    {
        if (length < HeaderLength || !HasMagic(blob))
            throw new ModelLoadException(source, null, "is not prepared MobileViT weights (no MVCPREPW header)");
        if (!BitConverter.IsLittleEndian)
            throw new ModelLoadException(source, null, "prepared weights are little-endian; this CPU is big-endian: Load the safetensors file instead");
        int version = BinaryPrimitives.ReadInt32LittleEndian(blob[8..]);
        if (version != Version)
            throw new ModelLoadException(source, null, $"was prepared in format version {version}; this MobileViT.Compiled reads version {Version}: prepare it again");
        ulong actual = BinaryPrimitives.ReadUInt64LittleEndian(blob[16..]);
        if (actual != fingerprint)
            throw new ModelLoadException(source, null, $"was prepared for another architecture or compiler (fingerprint {actual:x16}; this model is {fingerprint:x16}): prepare it again from the safetensors file");
        long declared = BinaryPrimitives.ReadInt64LittleEndian(blob[24..]);
        if (declared != length)
            throw new ModelLoadException(source, null, $"is {length} bytes but its header says {declared}: truncated or damaged");
        int count = BinaryPrimitives.ReadInt32LittleEndian(blob[12..]);
        if (count != entryCount || TableEnd(count) > length)
            throw new ModelLoadException(source, null, $"holds {count} entries; the compiled model reads {entryCount}: damaged");
        var table = new (long, int)[count];
        for (int i = 0; i < count; i++)
        {
            long offset = BinaryPrimitives.ReadInt64LittleEndian(blob[(HeaderLength + 16 * i)..]);
            long floats = BinaryPrimitives.ReadInt64LittleEndian(blob[(HeaderLength + 16 * i + 8)..]);
            if (offset < TableEnd(count) || offset % Alignment != 0 || floats < 0 || floats > int.MaxValue || offset > length - floats * sizeof(float))
                throw new ModelLoadException(source, null, $"entry {i} (offset {offset}, {floats} floats) lies outside the {length} bytes: damaged");
            table[i] = (offset, (int)floats);
        }
        return table;
    }

    /// <summary>The source fields of a validated blob's header.</summary>
    public static SourceInfo ReadSource(ReadOnlySpan<byte> blob)
        => new(BinaryPrimitives.ReadInt64LittleEndian(blob[32..]), BinaryPrimitives.ReadInt64LittleEndian(blob[40..]), blob[48..80].ToArray(),
            blob[80..112].ToArray());

    /// <summary>
    /// A cheap content stamp of a source file: SHA-256 of four 64 KiB blocks (start, a third, two thirds, end) and the
    /// length. With the length and write time it tells a prepared cache's source from another checkpoint of the same
    /// architecture that happens to have both equal (files unpacked from one archive), without reading megabytes.
    /// </summary>
    public static byte[] Sample(string path)
    {
        const int Block = 64 * 1024;
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(handle);
        var buffer = new byte[4 * Block + 8];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, length);
        int filled = 8;
        foreach (long at in new[] { 0, length / 3, 2 * length / 3, Math.Max(0, length - Block) })
            filled += RandomAccess.Read(handle, buffer.AsSpan(filled, (int)Math.Min(Block, length - at)), at);
        return Sha256.HashData(buffer.AsSpan(0, filled));
    }

    private static long TableEnd(int count) => Align(HeaderLength + 16L * count);

    private static long Align(long at) => (at + Alignment - 1) / Alignment * Alignment;
}
