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
    /// <see cref="PackChunkPixels"/> at a time: the chunk's per-pixel min and max row by row (contiguous reads: walking
    /// a pixel's K values instead, rows 4 KiB apart at N = 1024 fell into the same L1 set and the step took 0.46 of
    /// the float GEMM's time), each pixel's parameters, then per k-quad its 4 rows' bytes shifted into one int32 lane,
    /// so the vector path works on Vector&lt;float&gt;.Count pixels at a time with shifts and ors, no byte shuffles.
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
            for (int i = 0; i < count; i++)
            {
                var q = ParametersFor(lo[i], hi[i]);
                scales[c0 + i] = q.Scale;
                zps[c0 + i] = q.ZeroPoint;
                inverse[i] = 1f / q.Scale;
            }
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

    /// <summary>lo[j], hi[j] = the min and max of x[kk * n + j] over kk, for j &lt; count (row by row).</summary>
    private static void Ranges(float* x, int k, int n, int count, float* lo, float* hi, bool vector)
    {
        new Span<float>(lo, count).Fill(float.PositiveInfinity);
        new Span<float>(hi, count).Fill(float.NegativeInfinity);
        int lanes = Vector<float>.Count;
        for (int kk = 0; kk < k; kk++)
        {
            float* row = x + (long)kk * n;
            int j = 0;
            if (vector)
            {
                for (; j + lanes <= count; j += lanes)
                {
                    var v = Vector.Load(row + j);
                    Vector.Min(Vector.Load(lo + j), v).Store(lo + j);
                    Vector.Max(Vector.Load(hi + j), v).Store(hi + j);
                }
            }
            for (; j < count; j++) { lo[j] = MathF.Min(lo[j], row[j]); hi[j] = MathF.Max(hi[j], row[j]); }
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
