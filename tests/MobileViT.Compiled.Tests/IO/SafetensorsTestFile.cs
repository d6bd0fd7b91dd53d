using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace MobileViT.Compiled.Tests.IO;

/// <summary>Writes small safetensors files for the reader tests: well-formed ones, and deliberately broken ones.</summary>
internal sealed class SafetensorsTestFile
{
    private readonly List<(string Name, string DType, int[] Shape, byte[] Data)> _tensors = [];

    public SafetensorsTestFile F32(string name, int[] shape, params float[] values)
        => Raw(name, "F32", shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public SafetensorsTestFile Raw(string name, string dtype, int[] shape, byte[] data)
    {
        _tensors.Add((name, dtype, shape, data));
        return this;
    }

    /// <summary>The header JSON this file would have, with each tensor's data laid out one after the other.</summary>
    public string HeaderJson()
    {
        var sb = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        foreach (var (name, dtype, shape, data) in _tensors)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + data.Length}]}}");
            offset += data.Length;
        }
        return sb.Append('}').ToString();
    }

    public byte[] Data() => _tensors.SelectMany(t => t.Data).ToArray();

    public byte[] ToBytes() => Build(HeaderJson(), Data());

    /// <summary>8-byte little-endian header length, the header (padded with spaces to 8 bytes, as the reference writer does), the data.</summary>
    public static byte[] Build(string headerJson, byte[] data, ulong? declaredHeaderLength = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        int padded = (header.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredHeaderLength ?? (ulong)padded);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }
}

/// <summary>A seekable, read-only stream that claims a length without storing it: the given prefix, then zeros.</summary>
internal sealed class SparseStream(byte[] prefix, long length) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get; set; }

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = (int)Math.Min(count, Math.Max(0, length - Position));
        for (int i = 0; i < n; i++)
        {
            long p = Position + i;
            buffer[offset + i] = p < prefix.Length ? prefix[p] : (byte)0;
        }
        Position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin)
        => Position = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => Position + offset, _ => length + offset };

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
