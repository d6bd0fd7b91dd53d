using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace MobileViT.Compiled.IO;

/// <summary>
/// Loads the tensors a compiled model needs from a safetensors file, validated against the model's compiled
/// manifest: every expected tensor present, with the exact shape and a float dtype (F32, or F16/BF16 converted
/// to F32). Tensors the manifest does not name are ignored. Any problem is a <see cref="ModelLoadException"/>.
/// </summary>
public static class WeightLoader
{
    public static WeightSet Load(string path, IReadOnlyList<ExpectedTensor> expected)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelLoadException(path, null, $"cannot be opened ({e.Message})", e);
        }
        using (stream) return Load(stream, path, expected);
    }

    /// <summary>Loads from a seekable stream, such as an embedded resource.</summary>
    public static WeightSet Load(Stream stream, string source, IReadOnlyList<ExpectedTensor> expected)
    {
        if (!stream.CanSeek)
            throw new ArgumentException("The weights stream must be seekable.", nameof(stream));
        try
        {
            var header = SafetensorsHeader.Read(stream, source);
            var tensors = new Dictionary<string, float[]>(expected.Count, StringComparer.Ordinal);
            foreach (var tensor in expected)
            {
                tensors[tensor.Name] = ReadAsFloat32(stream, header, Match(header, tensor, source), source);
            }
            return new WeightSet(tensors, source);
        }
        catch (EndOfStreamException e)
        {
            throw new ModelLoadException(source, null, "the file ended before its declared data: truncated", e);
        }
        catch (IOException e)
        {
            // A read that fails part-way (disk error, network share gone): still the one documented exception.
            throw new ModelLoadException(source, null, $"could not be read ({e.Message})", e);
        }
    }

    /// <summary>The header's entry for an expected tensor: present, with the exact shape and a float dtype.</summary>
    internal static SafetensorsEntry Match(SafetensorsHeader header, ExpectedTensor tensor, string source)
    {
        if (!header.Entries.TryGetValue(tensor.Name, out var entry))
            throw new ModelLoadException(source, tensor.Name, $"is missing: the compiled model needs shape [{string.Join(", ", tensor.Shape)}]. Are these the weights of another architecture?");
        if (!entry.Shape.AsSpan().SequenceEqual(tensor.Shape))
            throw new ModelLoadException(source, tensor.Name, $"has shape [{string.Join(", ", entry.Shape)}] but the compiled model needs [{string.Join(", ", tensor.Shape)}]. Are these the weights of another architecture?");
        if (entry.DType is not ("F32" or "F16" or "BF16"))
            throw new ModelLoadException(source, entry.Name, $"has dtype {entry.DType}; the model takes F32, F16 or BF16");
        return entry;
    }

    /// <summary>F32 little-endian bits, read as they lie, to this CPU's byte order.</summary>
    internal static void FromLittleEndian(Span<float> values)
    {
        if (BitConverter.IsLittleEndian) return;
        for (int i = 0; i < values.Length; i++)
            values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(values[i])));
    }

    /// <summary>F16 or BF16 little-endian bits to float32.</summary>
    internal static void Widen(ReadOnlySpan<byte> raw, Span<float> result, bool brain)
    {
        for (int i = 0; i < result.Length; i++)
        {
            ushort bits = BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]);
            result[i] = brain ? BitConverter.Int32BitsToSingle(bits << 16) : (float)BitConverter.UInt16BitsToHalf(bits);
        }
    }

    private static float[] ReadAsFloat32(Stream stream, SafetensorsHeader header, SafetensorsEntry entry, string source)
    {
        int count = checked((int)((entry.End - entry.Begin) / Math.Max(1, SafetensorsHeader.DTypeSize(entry.DType))));
        var result = new float[count];
        stream.Position = header.DataStart + entry.Begin;
        switch (entry.DType)
        {
            case "F32":
                stream.ReadExactly(MemoryMarshal.AsBytes(result.AsSpan()));
                FromLittleEndian(result);
                break;
            case "F16":
            case "BF16":
                var raw = new byte[count * 2];
                stream.ReadExactly(raw);
                Widen(raw, result, entry.DType == "BF16");
                break;
            default:
                throw new ModelLoadException(source, entry.Name, $"has dtype {entry.DType}; the model takes F32, F16 or BF16");
        }
        return result;
    }
}
