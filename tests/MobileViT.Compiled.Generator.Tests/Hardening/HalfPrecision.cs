using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace MobileViT.Compiled.Testing;

/// <summary>
/// Rewrites an F32 safetensors file as F16 or BF16 (round to nearest even), the way a user would convert a
/// checkpoint; tensors of other dtypes are copied unchanged. Shared by the generator and runtime tests.
/// </summary>
internal static class HalfPrecision
{
    public static byte[] Convert(byte[] file, string dtype)
    {
        if (dtype is not ("F16" or "BF16")) throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "F16 or BF16");
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file));
        var header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, headerLength))!.AsObject();
        int dataStart = 8 + headerLength;
        var entries = header.Where(p => p.Key != "__metadata__")
            .Select(p => (Name: p.Key, Entry: p.Value!.AsObject(), Begin: p.Value!["data_offsets"]![0]!.GetValue<long>(), End: p.Value!["data_offsets"]![1]!.GetValue<long>()))
            .OrderBy(e => e.Begin)
            .ToList();
        using var data = new MemoryStream();
        foreach (var (name, entry, begin, end) in entries)
        {
            var bytes = file.AsSpan(dataStart + (int)begin, (int)(end - begin));
            long start = data.Length;
            if ((string)entry["dtype"]! == "F32")
            {
                var converted = new byte[bytes.Length / 2];
                for (int i = 0; i < bytes.Length / 4; i++)
                {
                    float value = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                    ushort bits = dtype == "F16" ? BitConverter.HalfToUInt16Bits((Half)value) : ToBFloat16(value);
                    BinaryPrimitives.WriteUInt16LittleEndian(converted.AsSpan(2 * i), bits);
                }
                data.Write(converted);
                entry["dtype"] = dtype;
            }
            else
            {
                data.Write(bytes);
            }
            entry["data_offsets"] = new JsonArray(start, data.Length);
        }
        return Build(header.ToJsonString(), data.ToArray());
    }

    /// <summary>float -> bfloat16 bits, round to nearest even; NaN stays a quiet NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    public static byte[] Build(string headerJson, byte[] data)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        int padded = (header.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }
}
