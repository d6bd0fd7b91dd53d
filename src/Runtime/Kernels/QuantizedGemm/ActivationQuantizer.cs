using System.Numerics;
using System.Runtime.CompilerServices;

namespace MobileViT.Compiled.Kernels;

public static unsafe partial class QuantizedGemm
{
    /// <summary>
    /// The parameters for values in [min, max]: the range is widened to contain 0 (so 0 is exactly q = ZeroPoint),
    /// scale = (max - min) / 254 (1 for an all-zero range), ZeroPoint = round(-min / scale) in [0, 254].
    /// </summary>
    public static ActivationQuantization ParametersFor(float min, float max)
    {
        float lo = MathF.Min(min, 0f), hi = MathF.Max(max, 0f);
        float scale = (hi - lo) / MaxActivation;
        if (!(scale > 0f) || !float.IsFinite(scale)) scale = 1f;
        int zp = Math.Clamp((int)MathF.Round(-lo * (1f / scale)), 0, MaxActivation);
        return new ActivationQuantization(scale, zp);
    }

    /// <summary>
    /// Quantizes a float [K, N] (channel-major) tensor per pixel (per column p) to unsigned [0, 254]
    /// (<see cref="MaxActivation"/>): pixel p's scale and zero point are <see cref="ParametersFor"/> of its K values' min
    /// and max, q = clamp(round(x / scale) + zeroPoint, 0, 254) (x / scale as x * (1 / scale), ties to even). Packs the
    /// bytes as the GEMM reads them: tiles of 16 pixels, <c>packed[((p / 16) * K4 + k / 4) * 64 + (p % 16) * 4 + k % 4]</c>,
    /// K4 = ceil(K / 4), with 0 past K and past N (up to <see cref="PaddedPixels"/>(N)); then the pixels' scales and zero
    /// points (<see cref="PixelScales(ReadOnlySpan{byte}, int, int)"/>; the padding's are 1 and 0).
    /// Round trip: |scale * (q - zeroPoint) - x| &lt;= scale / 2.
    /// </summary>
    public static void QuantizeActivations(ReadOnlySpan<float> input, int k, int n, Span<byte> packed)
        => QuantizeActivationsPath(input, k, n, packed, vector: Vector.IsHardwareAccelerated);

    /// <summary>The vector width the quantize step runs at (System.Numerics.Vector, as <see cref="GroupNorm"/>).</summary>
    internal static Isa QuantizeTier => !Vector.IsHardwareAccelerated ? Isa.Scalar
        : Vector<byte>.Count == 64 ? Isa.Vector512 : Vector<byte>.Count == 32 ? Isa.Vector256 : Isa.Vector128;

    /// <summary>The quantize step on the vector path or the scalar one (tests run both).</summary>
    internal static void QuantizeActivationsPath(ReadOnlySpan<float> input, int k, int n, Span<byte> packed, bool vector)
    {
        if (k <= 0 || n <= 0) throw new ArgumentOutOfRangeException(nameof(k), "k and n must be positive");
        if (input.Length < k * n) throw new ArgumentException("input too short", nameof(input));
        if (packed.Length < PackedActivationLength(k, n)) throw new ArgumentException("packed too short (PackedActivationLength)", nameof(packed));
        fixed (float* x = input)
        fixed (byte* dst = packed)
            Pack(x, k, n, dst, vector, 0, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int QuantizeOne(float x, float inverse, int zp) => Math.Clamp((int)MathF.Round(x * inverse) + zp, 0, MaxActivation);

    /// <summary>
    /// The vector form of <see cref="QuantizeOne"/>, a zero point and inverse scale per lane. The saturating
    /// conversion, as the scalar cast: with a non-finite range (scale 1) values past int32 must give the same bytes on
    /// both paths.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<int> QuantizeVector(float* x, Vector<float> inverse, Vector<int> zp, Vector<int> max)
        => Vector.Min(Vector.Max(Vector.ConvertToInt32(Vector.Round(Vector.Load(x) * inverse)) + zp, Vector<int>.Zero), max);

    /// <summary>
    /// Pixels [p0, p1) (p0 a multiple of the 16-pixel tile; p1 = N also writes the padding up to the tile): per pixel
    /// the min and max over its K values, its parameters, then per k-quad its 4 rows' bytes shifted into one int32 lane,
    /// so the vector path works on Vector&lt;float&gt;.Count pixels at a time with shifts and ors, no byte shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack(float* x, int k, int n, byte* dst, bool vector, int p0, int p1)
    {
        int np = PaddedPixels(n), kq = (k + 3) / 4, lanes = Vector<float>.Count;
        float* scales = PixelScales(dst, k, n);
        int* zps = PixelZeroPoints(dst, k, n);
        var vMax = new Vector<int>(MaxActivation);
        int p = p0;
        if (vector)
        {
            for (; p + lanes <= p1; p += lanes)
            {
                var lo = new Vector<float>(float.PositiveInfinity);
                var hi = new Vector<float>(float.NegativeInfinity);
                for (int kk = 0; kk < k; kk++)
                {
                    var v = Vector.Load(x + (long)kk * n + p);
                    lo = Vector.Min(lo, v);
                    hi = Vector.Max(hi, v);
                }
                for (int l = 0; l < lanes; l++)
                {
                    var q = ParametersFor(lo[l], hi[l]);
                    scales[p + l] = q.Scale;
                    zps[p + l] = q.ZeroPoint;
                }
                var inverse = Vector<float>.One / Vector.Load(scales + p); // correctly rounded, as the scalar 1f / scale
                var zp = Vector.Load(zps + p);
                byte* d = dst + TileOffset(p, kq);
                for (int i = 0; i < kq; i++, d += TileBytes)
                {
                    float* r0 = x + (long)(4 * i) * n + p;
                    int rowsHere = Math.Min(4, k - 4 * i);
                    var lane = QuantizeVector(r0, inverse, zp, vMax);
                    if (rowsHere > 1) lane |= Vector.ShiftLeft(QuantizeVector(r0 + n, inverse, zp, vMax), 8);
                    if (rowsHere > 2) lane |= Vector.ShiftLeft(QuantizeVector(r0 + 2L * n, inverse, zp, vMax), 16);
                    if (rowsHere > 3) lane |= Vector.ShiftLeft(QuantizeVector(r0 + 3L * n, inverse, zp, vMax), 24);
                    lane.Store((int*)d);
                }
            }
        }
        for (; p < p1; p++)
        {
            float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
            for (int kk = 0; kk < k; kk++) { lo = MathF.Min(lo, x[(long)kk * n + p]); hi = MathF.Max(hi, x[(long)kk * n + p]); }
            var q = ParametersFor(lo, hi);
            scales[p] = q.Scale;
            zps[p] = q.ZeroPoint;
            float inverse = 1f / q.Scale;
            byte* d = dst + TileOffset(p, kq);
            for (int i = 0; i < kq; i++, d += TileBytes)
            {
                int lane = 0;
                for (int r = 0; r < Math.Min(4, k - 4 * i); r++) lane |= QuantizeOne(x[(long)(4 * i + r) * n + p], inverse, q.ZeroPoint) << (8 * r);
                *(int*)d = lane;
            }
        }
        if (p1 == n) PadPixels(dst, k, n);
    }

    /// <summary>Pixels N to the end of the last tile: bytes 0, scale 1, zero point 0.</summary>
    internal static void PadPixels(byte* dst, int k, int n)
    {
        int np = PaddedPixels(n), kq = (k + 3) / 4;
        float* scales = PixelScales(dst, k, n);
        int* zps = PixelZeroPoints(dst, k, n);
        for (int p = n; p < np; p++)
        {
            scales[p] = 1f;
            zps[p] = 0;
            byte* d = dst + TileOffset(p, kq);
            for (int i = 0; i < kq; i++, d += TileBytes) *(int*)d = 0;
        }
    }
}
