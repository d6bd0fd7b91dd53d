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
}
