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
    /// Pixels per chunk of <see cref="Pack"/>: a multiple of the 16-pixel tile whose per-pixel min, max and inverse
    /// scale sit on the stack (3 KiB).
    /// </summary>
    private const int PackChunkPixels = 256;

    /// <summary>
    /// Pixels [p0, p1) (p0 a multiple of the 16-pixel tile; p1 = N also writes the padding up to the tile), a chunk of
    /// <see cref="PackChunkPixels"/> at a time: the chunk's per-pixel min and max (<see cref="Ranges"/>: whole vectors of
    /// pixels per row; walking one pixel's K values instead, rows 4 KiB apart at N = 1024 fell into the same L1 set and
    /// the step took 0.46 of the float GEMM's time), each pixel's parameters, then per k-quad its 4 rows' bytes shifted
    /// into one int32 lane, so the vector path works on Vector&lt;float&gt;.Count pixels at a time with shifts and ors,
    /// no byte shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack(float* x, int k, int n, byte* dst, bool vector, int p0, int p1)
    {
        int kq = (k + 3) / 4, lanes = vector ? Vector<float>.Count : 1;
        float* scales = PixelScales(dst, k, n);
        int* zps = PixelZeroPoints(dst, k, n);
        float* lo = stackalloc float[PackChunkPixels];
        float* hi = stackalloc float[PackChunkPixels];
        float* inverse = stackalloc float[PackChunkPixels];
        var vMax = new Vector<int>(MaxActivation);
        for (int c0 = p0; c0 < p1; c0 += PackChunkPixels)
        {
            int count = Math.Min(PackChunkPixels, p1 - c0);
            Ranges(x + c0, k, n, count, lo, hi, vector);
            Parameters(lo, hi, count, scales + c0, zps + c0, inverse, vector);
            for (int i = 0; i < kq; i++)
            {
                byte* d0 = dst + (long)i * TileBytes;
                int rowsHere = Math.Min(4, k - 4 * i);
                float* r0 = x + (long)(4 * i) * n + c0;
                int j = 0;
                if (vector)
                {
                    for (; j + lanes <= count; j += lanes)
                    {
                        var inv = Vector.Load(inverse + j);
                        var zp = Vector.Load(zps + c0 + j);
                        var lane = QuantizeVector(r0 + j, inv, zp, vMax);
                        if (rowsHere > 1) lane |= Vector.ShiftLeft(QuantizeVector(r0 + n + j, inv, zp, vMax), 8);
                        if (rowsHere > 2) lane |= Vector.ShiftLeft(QuantizeVector(r0 + 2L * n + j, inv, zp, vMax), 16);
                        if (rowsHere > 3) lane |= Vector.ShiftLeft(QuantizeVector(r0 + 3L * n + j, inv, zp, vMax), 24);
                        lane.Store((int*)(d0 + TileOffset(c0 + j, kq)));
                    }
                }
                for (; j < count; j++)
                {
                    int lane = 0;
                    for (int r = 0; r < rowsHere; r++) lane |= QuantizeOne(r0[(long)r * n + j], inverse[j], zps[c0 + j]) << (8 * r);
                    *(int*)(d0 + TileOffset(c0 + j, kq)) = lane;
                }
            }
        }
        if (p1 == n) PadPixels(dst, k, n);
    }

    /// <summary>
    /// scales[i], zps[i] = <see cref="ParametersFor"/>(lo[i], hi[i]) and inverse[i] = 1 / scales[i], for i &lt; count; the
    /// vector path does the same IEEE operations lane by lane (called once per pixel, the scalar function took 14 % of
    /// the quantize step).
    /// </summary>
    internal static void Parameters(float* lo, float* hi, int count, float* scales, int* zps, float* inverse, bool vector)
    {
        int i = 0;
        if (vector)
        {
            int lanes = Vector<float>.Count;
            var levels = new Vector<float>(MaxActivation);
            var infinity = new Vector<float>(float.PositiveInfinity);
            var max = new Vector<int>(MaxActivation);
            for (; i + lanes <= count; i += lanes)
            {
                var l = Vector.Min(Vector.Load(lo + i), Vector<float>.Zero);
                var h = Vector.Max(Vector.Load(hi + i), Vector<float>.Zero);
                var scale = (h - l) / levels;
                // !(scale > 0) || !IsFinite(scale), NaN included: scale 1.
                var usable = Vector.GreaterThan(scale, Vector<float>.Zero) & Vector.LessThan(scale, infinity);
                scale = Vector.ConditionalSelect(usable, scale, Vector<float>.One);
                var inv = Vector<float>.One / scale;
                var zp = Vector.Min(Vector.Max(Vector.ConvertToInt32(Vector.Round(-l * inv)), Vector<int>.Zero), max);
                scale.Store(scales + i);
                zp.Store(zps + i);
                inv.Store(inverse + i);
            }
        }
        for (; i < count; i++)
        {
            var q = ParametersFor(lo[i], hi[i]);
            scales[i] = q.Scale;
            zps[i] = q.ZeroPoint;
            inverse[i] = 1f / q.Scale;
        }
    }

    /// <summary>
    /// lo[j], hi[j] = the min and max of x[kk * n + j] over kk, for j &lt; count: blocks of 4 vectors of pixels whose
    /// minima and maxima stay in registers over all K rows (keeping them in lo and hi, two loads and two stores per
    /// vector and row, made this half of the quantize step's time), then single vectors, then single pixels.
    /// </summary>
    private static void Ranges(float* x, int k, int n, int count, float* lo, float* hi, bool vector)
    {
        int j = 0;
        if (vector)
        {
            int lanes = Vector<float>.Count;
            var up = new Vector<float>(float.PositiveInfinity);
            var down = new Vector<float>(float.NegativeInfinity);
            for (; j + 4 * lanes <= count; j += 4 * lanes)
            {
                Vector<float> l0 = up, l1 = up, l2 = up, l3 = up, h0 = down, h1 = down, h2 = down, h3 = down;
                float* row = x + j;
                for (int kk = 0; kk < k; kk++, row += n)
                {
                    var v0 = Vector.Load(row);
                    var v1 = Vector.Load(row + lanes);
                    var v2 = Vector.Load(row + 2 * lanes);
                    var v3 = Vector.Load(row + 3 * lanes);
                    l0 = Vector.Min(l0, v0); h0 = Vector.Max(h0, v0);
                    l1 = Vector.Min(l1, v1); h1 = Vector.Max(h1, v1);
                    l2 = Vector.Min(l2, v2); h2 = Vector.Max(h2, v2);
                    l3 = Vector.Min(l3, v3); h3 = Vector.Max(h3, v3);
                }
                l0.Store(lo + j); l1.Store(lo + j + lanes); l2.Store(lo + j + 2 * lanes); l3.Store(lo + j + 3 * lanes);
                h0.Store(hi + j); h1.Store(hi + j + lanes); h2.Store(hi + j + 2 * lanes); h3.Store(hi + j + 3 * lanes);
            }
            for (; j + lanes <= count; j += lanes)
            {
                Vector<float> l = up, h = down;
                float* row = x + j;
                for (int kk = 0; kk < k; kk++, row += n)
                {
                    var v = Vector.Load(row);
                    l = Vector.Min(l, v);
                    h = Vector.Max(h, v);
                }
                l.Store(lo + j);
                h.Store(hi + j);
            }
        }
        for (; j < count; j++)
        {
            float l = float.PositiveInfinity, h = float.NegativeInfinity;
            for (int kk = 0; kk < k; kk++) { l = MathF.Min(l, x[(long)kk * n + j]); h = MathF.Max(h, x[(long)kk * n + j]); }
            lo[j] = l;
            hi[j] = h;
        }
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
