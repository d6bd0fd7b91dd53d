using System.Numerics;
using System.Runtime.CompilerServices;

namespace MobileViT.Compiled.Kernels;

public static unsafe partial class QuantizedGemm
{
    /// <summary>
    /// The per-tensor parameters for values in [min, max]: the range is widened to contain 0 (so 0 is exactly
    /// q = ZeroPoint), scale = (max - min) / 254 (1 for an all-zero tensor), ZeroPoint = round(-min / scale) in [0, 254].
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
    /// Quantizes a float [K, N] (channel-major) tensor per tensor to unsigned [0, 254] (<see cref="MaxActivation"/>),
    /// q = clamp(round(x / scale) + zeroPoint, 0, 254) (x / scale as x * (1 / scale), ties to even), and packs it as
    /// the GEMM reads it: tiles of 16 pixels, <c>packed[((p / 16) * K4 + k / 4) * 64 + (p % 16) * 4 + k % 4]</c>,
    /// K4 = ceil(K / 4), with 0 past K and past N (up to <see cref="PaddedPixels"/>(N)). Returns the scale and zero point (<see cref="ParametersFor"/> of the tensor's min and max).
    /// Round trip: |scale * (q - zeroPoint) - x| &lt;= scale / 2.
    /// </summary>
    public static ActivationQuantization QuantizeActivations(ReadOnlySpan<float> input, int k, int n, Span<byte> packed)
        => QuantizeActivationsPath(input, k, n, packed, vector: Vector.IsHardwareAccelerated);

    /// <summary>The vector width the quantize step runs at (System.Numerics.Vector, as <see cref="GroupNorm"/>).</summary>
    internal static Isa QuantizeTier => !Vector.IsHardwareAccelerated ? Isa.Scalar
        : Vector<byte>.Count == 64 ? Isa.Vector512 : Vector<byte>.Count == 32 ? Isa.Vector256 : Isa.Vector128;

    /// <summary>The quantize step on the vector path or the scalar one (tests run both).</summary>
    internal static ActivationQuantization QuantizeActivationsPath(ReadOnlySpan<float> input, int k, int n, Span<byte> packed, bool vector)
    {
        if (k <= 0 || n <= 0) throw new ArgumentOutOfRangeException(nameof(k), "k and n must be positive");
        if (input.Length < k * n) throw new ArgumentException("input too short", nameof(input));
        if (packed.Length < PackedActivationLength(k, n)) throw new ArgumentException("packed too short (PackedActivationLength)", nameof(packed));
        fixed (float* x = input)
        fixed (byte* dst = packed)
        {
            var (min, max) = vector ? MinMaxVector(x, (long)k * n) : MinMaxScalar(x, (long)k * n);
            var q = ParametersFor(min, max);
            Pack(x, k, n, dst, 1f / q.Scale, q.ZeroPoint, vector);
            return q;
        }
    }

    /// <summary>The tensor's min and max on the vector or the scalar path (the same numbers either way).</summary>
    internal static (float Min, float Max) MinMax(float* x, long length, bool vector)
        => vector ? MinMaxVector(x, length) : MinMaxScalar(x, length);

    private static (float Min, float Max) MinMaxScalar(float* x, long length)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (long i = 0; i < length; i++) { min = MathF.Min(min, x[i]); max = MathF.Max(max, x[i]); }
        return (min, max);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float Min, float Max) MinMaxVector(float* x, long length)
    {
        int lanes = Vector<float>.Count;
        var vmin = new Vector<float>(float.PositiveInfinity);
        var vmax = new Vector<float>(float.NegativeInfinity);
        long i = 0;
        for (; i + lanes <= length; i += lanes)
        {
            var v = Vector.Load(x + i);
            vmin = Vector.Min(vmin, v);
            vmax = Vector.Max(vmax, v);
        }
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (int l = 0; l < lanes; l++) { min = MathF.Min(min, vmin[l]); max = MathF.Max(max, vmax[l]); }
        for (; i < length; i++) { min = MathF.Min(min, x[i]); max = MathF.Max(max, x[i]); }
        return (min, max);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int QuantizeOne(float x, float inverse, int zp) => Math.Clamp((int)MathF.Round(x * inverse) + zp, 0, MaxActivation);

    /// <summary>
    /// The vector form of <see cref="QuantizeOne"/>. The saturating conversion, as the scalar cast: with a non-finite
    /// range (scale 1) values past int32 must give the same bytes on both paths.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<int> QuantizeVector(float* x, Vector<float> inverse, Vector<int> zp, Vector<int> max)
        => Vector.Min(Vector.Max(Vector.ConvertToInt32(Vector.Round(Vector.Load(x) * inverse)) + zp, Vector<int>.Zero), max);

    /// <summary>
    /// Per k-quad, per pixel: the 4 rows' values (each 0..254) shifted into the 4 bytes of one int32 lane, so the vector
    /// path packs with shifts and ors, no byte shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack(float* x, int k, int n, byte* dst, float inverse, int zp, bool vector, int quad0 = 0, int quad1 = int.MaxValue)
    {
        int np = PaddedPixels(n), kq = (k + 3) / 4, lanes = vector ? Vector<float>.Count : 1;
        var vInverse = new Vector<float>(inverse);
        var vZp = new Vector<int>(zp);
        var vMax = new Vector<int>(MaxActivation);
        for (int i = quad0; i < Math.Min(kq, quad1); i++)
        {
            byte* d0 = dst + (long)i * TileBytes;
            int rowsHere = Math.Min(4, k - 4 * i);
            float* r0 = x + (long)(4 * i) * n;
            int p = 0;
            if (vector && rowsHere == 4)
            {
                // Whole quads (all but a last partial one): the four rows unrolled, constant shifts.
                for (; p + lanes <= n; p += lanes)
                {
                    float* q = r0 + p;
                    var lane = QuantizeVector(q, vInverse, vZp, vMax) | Vector.ShiftLeft(QuantizeVector(q + n, vInverse, vZp, vMax), 8)
                        | Vector.ShiftLeft(QuantizeVector(q + 2L * n, vInverse, vZp, vMax), 16) | Vector.ShiftLeft(QuantizeVector(q + 3L * n, vInverse, vZp, vMax), 24);
                    lane.Store((int*)(d0 + TileOffset(p, kq)));
                }
            }
            else if (vector)
            {
                for (; p + lanes <= n; p += lanes)
                {
                    var lane = Vector<int>.Zero;
                    for (int r = 0; r < rowsHere; r++)
                    {
                        lane |= Vector.ShiftLeft(QuantizeVector(r0 + (long)r * n + p, vInverse, vZp, vMax), 8 * r);
                    }
                    lane.Store((int*)(d0 + TileOffset(p, kq)));
                }
            }
            for (; p < n; p++)
            {
                int lane = 0;
                for (int r = 0; r < rowsHere; r++) lane |= QuantizeOne(r0[(long)r * n + p], inverse, zp) << (8 * r);
                *(int*)(d0 + TileOffset(p, kq)) = lane;
            }
            for (; p < np; p++) *(int*)(d0 + TileOffset(p, kq)) = 0;
        }
    }
}
