using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace MobileViT.Cli;

/// <summary>
/// Writes a 2-D float32 array in NumPy's .npy format (version 1.0, little-endian '&lt;f4', C order), so that
/// numpy.load reads the embeddings without any other library.
/// </summary>
internal static class NpyFile
{
    public static void Write(string path, IReadOnlyList<float[]> rows, int columns)
    {
        string shape = string.Format(CultureInfo.InvariantCulture, "({0}, {1})", rows.Count, columns);
        string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
        // magic and version (8) + header length (2) + header, padded with spaces and ended by \n to a multiple of 64 bytes
        int padded = (10 + header.Length + 1 + 63) / 64 * 64 - 10;
        header = header.PadRight(padded - 1) + "\n";

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]); // magic, version 1.0
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        file.Write(length);
        file.Write(Encoding.ASCII.GetBytes(header));
        var row = new byte[columns * sizeof(float)];
        foreach (var values in rows)
        {
            if (values.Length != columns) throw new ArgumentException($"a row of {values.Length} values in an array of {columns} columns", nameof(rows));
            for (int i = 0; i < columns; i++) BinaryPrimitives.WriteSingleLittleEndian(row.AsSpan(4 * i), values[i]);
            file.Write(row);
        }
    }
}
