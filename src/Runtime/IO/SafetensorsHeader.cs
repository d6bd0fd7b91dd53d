using System.Buffers.Binary;
using System.Text.Json;

namespace MobileViT.Compiled.IO;

/// <summary>One entry of a safetensors header.</summary>
public sealed record SafetensorsEntry(string Name, string DType, int[] Shape, long Begin, long End);

/// <summary>
/// Parses and validates the header of a safetensors file: 8-byte little-endian header length N, N bytes of JSON
/// <c>{name: {dtype, shape, data_offsets}}</c>, then the data. Every length read from the file is bounded by the
/// file's own size before anything is allocated from it.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>Headers larger than this are refused (real ones are a few hundred KiB).</summary>
    public const int MaxHeaderLength = 64 * 1024 * 1024;

    private SafetensorsHeader(long headerLength, long dataLength, Dictionary<string, SafetensorsEntry> entries)
    {
        HeaderLength = headerLength;
        DataLength = dataLength;
        Entries = entries;
    }

    public long HeaderLength { get; }
    public long DataLength { get; }
    public long DataStart => 8 + HeaderLength;
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>Size in bytes of one element of a safetensors dtype, or 0 when the dtype is unknown.</summary>
    public static int DTypeSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };

    /// <summary>Reads and validates the header of <paramref name="stream"/> (seekable, positioned anywhere).</summary>
    public static SafetensorsHeader Read(Stream stream, string source)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new ModelLoadException(source, null, $"the file is {fileLength} bytes long, shorter than the 8-byte safetensors header length");
        Span<byte> prefix = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(prefix);
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (declared > (ulong)(fileLength - 8))
            throw new ModelLoadException(source, null, $"the header length {declared} is larger than the file ({fileLength} bytes): truncated or not a safetensors file");
        if (declared > MaxHeaderLength)
            throw new ModelLoadException(source, null, $"the header length {declared} exceeds the limit of {MaxHeaderLength} bytes");
        if (declared < 2)
            throw new ModelLoadException(source, null, $"the header length {declared} is too small to hold a JSON object");
        var headerBytes = new byte[(int)declared];
        stream.ReadExactly(headerBytes);
        return Parse(headerBytes, fileLength - 8 - (long)declared, source);
    }

    /// <summary>Parses header JSON bytes; <paramref name="dataLength"/> is the number of bytes after the header.</summary>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string source)
    {
        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            using var document = JsonDocument.ParseValue(ref reader);
            // ParseValue stops after the first value; anything but padding after it is corrupt (Read throws on it).
            if (reader.Read())
                throw new ModelLoadException(source, null, "the header is not valid JSON: content follows its object");
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelLoadException(source, null, $"the header is a JSON {document.RootElement.ValueKind}, not an object");
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__") continue;
                if (entries.ContainsKey(property.Name))
                    throw new ModelLoadException(source, property.Name, "appears twice in the header");
                entries.Add(property.Name, ParseEntry(property.Name, property.Value, dataLength, source));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: invalid UTF-8 inside a string, found only when the name or value is read.
            throw new ModelLoadException(source, null, $"the header is not valid JSON ({e.Message})", e);
        }
        CheckNoOverlap(entries.Values, source);
        return new SafetensorsHeader(json.Length, dataLength, entries);
    }

    private static SafetensorsEntry ParseEntry(string name, JsonElement value, long dataLength, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelLoadException(source, name, $"its header entry is a JSON {value.ValueKind}, not an object");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new ModelLoadException(source, name, "has no string 'dtype'");
        string dtype = dtypeElement.GetString()!;
        int elementSize = DTypeSize(dtype);
        if (elementSize == 0)
            throw new ModelLoadException(source, name, $"has the unknown dtype '{dtype}'");
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new ModelLoadException(source, name, "has no 'shape' array");
        if (shapeElement.GetArrayLength() > 8)
            throw new ModelLoadException(source, name, $"has {shapeElement.GetArrayLength()} dimensions; at most 8 are accepted");
        var shape = new int[shapeElement.GetArrayLength()];
        long elements = 1;
        int i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw new ModelLoadException(source, name, $"has the invalid dimension {d.GetRawText()} in its shape");
            shape[i++] = dim;
            if (dim > 0 && elements > dataLength / dim)
                throw new ModelLoadException(source, name, $"its shape [{string.Join(", ", shape[..i])}...] holds more elements than the file has bytes");
            elements *= dim;
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new ModelLoadException(source, name, "has no 'data_offsets' pair");
        long begin = ReadOffset(offsets[0], name, source), end = ReadOffset(offsets[1], name, source);
        if (begin > end || end > dataLength)
            throw new ModelLoadException(source, name, $"its data_offsets [{begin}, {end}] lie outside the {dataLength} data bytes of the file");
        if (end - begin != elements * elementSize)
            throw new ModelLoadException(source, name, $"its data_offsets span {end - begin} bytes but shape [{string.Join(", ", shape)}] of {dtype} needs {elements * elementSize}");
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    private static long ReadOffset(JsonElement element, string name, string source)
        => element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out long v) && v >= 0
            ? v
            : throw new ModelLoadException(source, name, $"has the invalid data offset {element.GetRawText()}");

    private static void CheckNoOverlap(IEnumerable<SafetensorsEntry> entries, string source)
    {
        SafetensorsEntry? previous = null;
        foreach (var entry in entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin))
        {
            if (previous is not null && entry.Begin < previous.End)
                throw new ModelLoadException(source, entry.Name, $"its data [{entry.Begin}, {entry.End}] overlaps tensor '{previous.Name}' [{previous.Begin}, {previous.End}]");
            previous = entry;
        }
    }
}
