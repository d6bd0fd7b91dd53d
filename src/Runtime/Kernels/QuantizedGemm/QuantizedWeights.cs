using System.Runtime.InteropServices;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// A [M, K] weight quantized symmetrically per output row (int8, scale per row) and packed for
/// <see cref="QuantizedGemm"/>: panels of 8 rows, per k-quad the 8 rows' 4 bytes one after another,
/// <c>Packed[(((m / 8) * K4 + k / 4) * 8 + m % 8) * 4 + k % 4] = q[m, k]</c> with K4 = ceil(K / 4); k past K and rows
/// past M are 0, so padding adds nothing to the accumulators. <see cref="RowSums"/>[m] = sum_k q[m, k] removes the
/// activations' zero point: sum_k (a - zp) q = acc - zp * RowSums[m].
/// </summary>
public sealed class QuantizedWeights
{
    /// <summary>Rows per panel.</summary>
    internal const int PanelRows = 8;

    /// <summary>The reduction length (input channels).</summary>
    public int K { get; }
    /// <summary>Output rows (output channels).</summary>
    public int M { get; }
    /// <summary>The packed bytes (signed int8 stored as bytes).</summary>
    public byte[] Packed { get; }
    /// <summary>Per row: w[m, k] ~= Scales[m] * q[m, k].</summary>
    public float[] Scales { get; }
    /// <summary>Per row: the sum of its quantized weights.</summary>
    public int[] RowSums { get; }

    /// <summary>K rounded up to whole k-quads, in quads.</summary>
    internal int KQuads => (K + 3) / 4;

    private QuantizedWeights(int k, int m, byte[] packed, float[] scales, int[] rowSums)
    {
        K = k; M = m; Packed = packed; Scales = scales; RowSums = rowSums;
    }

    /// <summary>Bytes of a packed weight: ceil(M / 8) * 8 rows of ceil(K / 4) * 4 bytes.</summary>
    public static int PackedLength(int k, int m) => (m + PanelRows - 1) / PanelRows * PanelRows * ((k + 3) / 4 * 4);

    /// <summary>
    /// Packs already quantized weights q [M, K] (row-major) with their per-row scales. Any sbyte is allowed, -128 too
    /// (the kernels stay exact); <see cref="Quantize"/> produces [-127, 127].
    /// </summary>
    public static QuantizedWeights Pack(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, int k, int m)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(m);
        if (q.Length < k * m) throw new ArgumentException("q is shorter than k * m", nameof(q));
        if (scales.Length < m) throw new ArgumentException("scales is shorter than m", nameof(scales));
        int kq = (k + 3) / 4;
        var packed = new byte[PackedLength(k, m)];
        var sums = new int[m];
        for (int row = 0; row < m; row++)
        {
            int panel = row / PanelRows, lane = row % PanelRows, sum = 0;
            for (int kk = 0; kk < k; kk++)
            {
                sbyte v = q[row * k + kk];
                sum += v;
                packed[((panel * kq + kk / 4) * PanelRows + lane) * 4 + kk % 4] = (byte)v;
            }
            sums[row] = sum;
        }
        return new QuantizedWeights(k, m, packed, scales[..m].ToArray(), sums);
    }

    /// <summary>
    /// Quantizes a float weight [M, K] symmetrically per row to [-127, 127] (scale = max|w| / 127, q = round(w / scale),
    /// ties to even; an all-zero row gets scale 1) and packs it. Meant for build time.
    /// </summary>
    public static QuantizedWeights Quantize(ReadOnlySpan<float> weight, int k, int m)
    {
        if (weight.Length < k * m) throw new ArgumentException("weight is shorter than k * m", nameof(weight));
        var q = new sbyte[k * m];
        var scales = new float[m];
        Reference.ReferenceKernels.QuantizeWeightsPerRow(weight, k, m, q, scales);
        return Pack(q, scales, k, m);
    }

    /// <summary>
    /// Floats of an encoded weight (<see cref="Encode"/>): M scales, M row sums, then the packed bytes
    /// (<see cref="PackedLength"/>, a multiple of 4) as floats.
    /// </summary>
    public static int EncodedLength(int k, int m) => 2 * m + PackedLength(k, m) / 4;

    /// <summary>
    /// Quantizes a float weight [M, K] (<see cref="Quantize"/>) and encodes it as one float entry of the prepared
    /// weights, which the int8 kernels (<see cref="QuantizedPointwise"/>) read in place:
    /// <code>
    /// [0, M)                  Scales[m]
    /// [M, 2M)                 RowSums[m], the int32's bits
    /// [2M, EncodedLength)     Packed, 4 bytes per float (little-endian order of the bytes in memory)
    /// </code>
    /// Only a float's bits are stored, so any 4-byte aligned place holds it.
    /// </summary>
    public static float[] Encode(ReadOnlySpan<float> weight, int k, int m) => Quantize(weight, k, m).ToEncoded();

    /// <summary>This weight encoded (the layout of <see cref="Encode(ReadOnlySpan{float}, int, int)"/>).</summary>
    public float[] ToEncoded()
    {
        var encoded = new float[EncodedLength(K, M)];
        Scales.CopyTo(encoded, 0);
        MemoryMarshal.Cast<int, float>(RowSums).CopyTo(encoded.AsSpan(M));
        Packed.CopyTo(MemoryMarshal.AsBytes(encoded.AsSpan(2 * M)));
        return encoded;
    }

    /// <summary>Throws unless <paramref name="encoded"/> is exactly an encoded M x K weight's length.</summary>
    internal static void CheckEncoded(ReadOnlySpan<float> encoded, int k, int m, string paramName)
    {
        int length = EncodedLength(k, m);
        if (encoded.Length != length)
            throw new ArgumentException($"an encoded {m} x {k} int8 weight has {length} floats, not {encoded.Length} (use QuantizedWeights.Encode)", paramName);
    }

    /// <summary>The weight an encoded entry holds (a copy: for tests and tools; the kernels read the entry in place).</summary>
    public static QuantizedWeights Decode(ReadOnlySpan<float> encoded, int k, int m)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(m);
        CheckEncoded(encoded, k, m, nameof(encoded));
        return new QuantizedWeights(k, m, MemoryMarshal.AsBytes(encoded[(2 * m)..]).ToArray(), encoded[..m].ToArray(),
            MemoryMarshal.Cast<float, int>(encoded[m..(2 * m)]).ToArray());
    }
}
