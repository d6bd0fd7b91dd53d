using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>How one pixel's values were quantized: x ~= Scale * (q - ZeroPoint), q in [0, 254].</summary>
public readonly record struct ActivationQuantization(float Scale, int ZeroPoint);

/// <summary>
/// The int8 1x1 convolution / GEMM: out[m, p] = scaleA[p] * scaleW[m] * sum_k (a[k, p] - zp[p]) * q[m, k] + bias[m]
/// (+ residual[m, p]), float output [M, N] channel-major like <see cref="PointwiseConv"/>.
/// <para>
/// Numbers. Weights: int8 symmetric per output row (<see cref="QuantizedWeights"/>, [-127, 127]; -128 is still
/// computed exactly). Activations: quantized per pixel (each column of the [K, N] input: one token, or one position
/// of a feature map) at run time to unsigned [0, 254] with its own scale and zero point (<see cref="QuantizeActivations"/>),
/// which factor out of the sum over k. Per pixel rather than per tensor because a few pixels with large values no longer
/// coarsen every other pixel's steps: on mobilevit-xx-small each layer's output error was 0.5 % of its RMS instead of 0.85 %. 254 levels, not 256, so that q - 127 is in [-127, 127]: the paths whose
/// instruction wants signed activations (ARM's SDOT, s8 x s8) or cannot take 8-bit unsigned ones without saturating
/// (x86's pmaddubsw sums two u8 x s8 products into a saturating int16: 2 x 254 x 127 would overflow) read q - 127
/// (<see cref="IQuadDot{TV}.Offset"/>), and pmaddubsw multiplies |w| by (q - 127) with w's sign, at most
/// 2 x 128 x 127 = 32512 per pair. AVX-VNNI's vpdpbusd (u8 x s8 into int32) takes q as it is. The correction
/// acc - (zp[p] - offset) * rowSum makes every path (AVX-VNNI, AVX-512BW / AVX2 / SSSE3, ARM SDOT, the portable and
/// the scalar ones) produce the same exact int32 sums, and the float epilogue is the same operations in the same
/// order: the fast kernels equal <c>ReferenceKernels.QuantizedGemm</c> bit for bit. int32 cannot overflow below
/// K = 2^31 / (254 x 128) = 66,052.
/// Measured (mobilevit-x-small, photo): 7-bit activations ([0, 127], every path unsigned) left the logits 11.8 % of
/// the largest off fp32 and the Fashion-MNIST model agreeing with fp32 on 97.5 % of the test set; [0, 254], 6.4 % and
/// 98.6 %.
/// </para>
/// <para>
/// Layouts. Activations: tiles of 16 pixels, <c>[ceil(N/16)][ceil(K/4)][16][4]</c> bytes: the 4 consecutive k of one
/// pixel fill one 32-bit lane, so a vector load holds Lanes pixels' k-quads, and a tile's quads are consecutive cache
/// lines; k past K and pixels past N are 0.
/// Weights: panels of 8 rows, per k-quad the 8 rows' quads (<see cref="QuantizedWeights"/>). The microkernel keeps a
/// Rows x Vectors tile of int32 accumulators (8 x 2 or 8 x 3 with 32 vector registers, 4 x 2 or 4 x 3 with 16; see each
/// path's struct), and per k-quad broadcasts each row's 4 weight bytes and multiply-adds them against each vector of
/// pixels' quads. Whole blocks are converted to float straight from the registers.
/// </para>
/// <para>
/// Measured (one thread, Zen 5 EPYC with full-width AVX-512, mobilevit-small 1x1 shapes, BenchmarkDotNet short runs):
/// the AVX-VNNI and AVX-512BW paths take 0.49-0.67 of the float GEMM's time, 0.54-0.73 with the quantize step.
/// </para>
/// </summary>
[SkipLocalsInit]
public static unsafe partial class QuantizedGemm
{
    /// <summary>Pixels the packed activations hold: N rounded up to a whole tile of 16 (a 512-bit vector of lanes).</summary>
    public static int PaddedPixels(int n) => (n + 15) & ~15;

    /// <summary>
    /// Bytes of packed activations for a [K, N] input: the quantized bytes (tiles, see the class), then per padded pixel
    /// its scale (float) and then its zero point (int32).
    /// </summary>
    public static int PackedActivationLength(int k, int n) => (k + 3) / 4 * PaddedPixels(n) * 4 + 8 * PaddedPixels(n);

    /// <summary>Where the per-pixel scales start in the packed activations.</summary>
    private static int PixelParametersOffset(int k, int n) => (k + 3) / 4 * PaddedPixels(n) * 4;

    internal static float* PixelScales(byte* packed, int k, int n) => (float*)(packed + PixelParametersOffset(k, n));

    internal static int* PixelZeroPoints(byte* packed, int k, int n) => (int*)(packed + PixelParametersOffset(k, n)) + PaddedPixels(n);

    /// <summary>The scales of the N pixels (their first N; the padding has scale 1) in packed activations.</summary>
    public static ReadOnlySpan<float> PixelScales(ReadOnlySpan<byte> packed, int k, int n)
        => MemoryMarshal.Cast<byte, float>(packed.Slice(PixelParametersOffset(k, n), 4 * n));

    /// <summary>The zero points of the N pixels in packed activations.</summary>
    public static ReadOnlySpan<int> PixelZeroPoints(ReadOnlySpan<byte> packed, int k, int n)
        => MemoryMarshal.Cast<byte, int>(packed.Slice(PixelParametersOffset(k, n) + 4 * PaddedPixels(n), 4 * n));

    /// <summary>The path <see cref="Run"/> takes here: the fastest the hardware has (<see cref="PathFor"/> of the widest float path).</summary>
    internal static readonly QuantizedGemmPath Best = PathFor(KernelIsa.Best);

    /// <summary>
    /// The fastest supported path no wider than <paramref name="widest"/>: AVX-VNNI (256-bit vpdpbusd, one instruction
    /// per 32 multiply-adds) ahead of AVX-512BW (three per 64) ahead of AVX2; ARM SDOT; then SSSE3, the portable
    /// Vector128 and the scalar path. On the Zen 5 this was measured on (full-width 512-bit units) AVX-VNNI and
    /// AVX-512BW ran within 15 % of each other, either way round by shape; AVX-VNNI stays first for the machines with
    /// narrower 512-bit execution (Zen 4) or more 256-bit ports (Intel), unmeasured.
    /// </summary>
    internal static QuantizedGemmPath PathFor(Isa widest)
    {
        if (widest >= Isa.Vector256 && QuadVnni256.IsSupported) return QuantizedGemmPath.AvxVnni256;
        if (widest >= Isa.Vector512 && QuadAvx512BW.IsSupported) return QuantizedGemmPath.Avx512BW;
        if (widest >= Isa.Vector256 && QuadAvx2.IsSupported) return QuantizedGemmPath.Avx2;
        if (widest >= Isa.Vector128)
        {
            if (QuadArmDot.IsSupported) return QuantizedGemmPath.ArmDot;
            if (QuadVnni128.IsSupported) return QuantizedGemmPath.AvxVnni128;
            if (QuadSsse3.IsSupported) return QuantizedGemmPath.Ssse3;
            if (QuadPortable128.IsSupported) return QuantizedGemmPath.Portable128;
        }
        return QuantizedGemmPath.Scalar;
    }

    /// <summary>Whether a path's instructions exist on this machine.</summary>
    internal static bool IsSupported(QuantizedGemmPath path) => path switch
    {
        QuantizedGemmPath.Scalar => QuadScalar.IsSupported,
        QuantizedGemmPath.Portable128 => QuadPortable128.IsSupported,
        QuantizedGemmPath.Ssse3 => QuadSsse3.IsSupported,
        QuantizedGemmPath.ArmDot => QuadArmDot.IsSupported,
        QuantizedGemmPath.AvxVnni128 => QuadVnni128.IsSupported,
        QuantizedGemmPath.Avx2 => QuadAvx2.IsSupported,
        QuantizedGemmPath.AvxVnni256 => QuadVnni256.IsSupported,
        QuantizedGemmPath.Avx512BW => QuadAvx512BW.IsSupported,
        _ => false,
    };

    /// <summary>What a path's loads subtract from each activation byte (<see cref="IQuadDot{TV}.Offset"/>).</summary>
    internal static int Offset(QuantizedGemmPath path) => path switch
    {
        QuantizedGemmPath.Scalar => QuadScalar.Offset,
        QuantizedGemmPath.Portable128 => QuadPortable128.Offset,
        QuantizedGemmPath.Ssse3 => QuadSsse3.Offset,
        QuantizedGemmPath.ArmDot => QuadArmDot.Offset,
        QuantizedGemmPath.AvxVnni128 => QuadVnni128.Offset,
        QuantizedGemmPath.Avx2 => QuadAvx2.Offset,
        QuantizedGemmPath.AvxVnni256 => QuadVnni256.Offset,
        _ => QuadAvx512BW.Offset,
    };

    /// <summary>The vector width of a path (what <c>KernelInfo</c> reports).</summary>
    internal static Isa Tier(QuantizedGemmPath path) => path switch
    {
        QuantizedGemmPath.Scalar => Isa.Scalar,
        QuantizedGemmPath.Avx2 or QuantizedGemmPath.AvxVnni256 => Isa.Vector256,
        QuantizedGemmPath.Avx512BW => Isa.Vector512,
        _ => Isa.Vector128,
    };

    /// <summary>The register tile of a path, rows x vectors.</summary>
    internal static (int Rows, int Vectors) Tile(QuantizedGemmPath path) => path switch
    {
        QuantizedGemmPath.Scalar => (QuadScalar.Rows, QuadScalar.Vectors),
        QuantizedGemmPath.Portable128 => (QuadPortable128.Rows, QuadPortable128.Vectors),
        QuantizedGemmPath.Ssse3 => (QuadSsse3.Rows, QuadSsse3.Vectors),
        QuantizedGemmPath.ArmDot => (QuadArmDot.Rows, QuadArmDot.Vectors),
        QuantizedGemmPath.AvxVnni128 => (QuadVnni128.Rows, QuadVnni128.Vectors),
        QuantizedGemmPath.Avx2 => (QuadAvx2.Rows, QuadAvx2.Vectors),
        QuantizedGemmPath.AvxVnni256 => (QuadVnni256.Rows, QuadVnni256.Vectors),
        _ => (QuadAvx512BW.Rows, QuadAvx512BW.Vectors),
    };

    /// <summary>
    /// out[m, p] = (float)(acc[m, p] - zp[p] * w.RowSums[m]) * (scale[p] * w.Scales[m]) + bias[m] (+ residual[m, p]),
    /// where acc is the exact int32 product of the packed activations (<see cref="QuantizeActivations"/>, which hold
    /// each pixel's scale and zero point) and weights.
    /// </summary>
    /// <param name="bias">M floats, or empty for none.</param>
    /// <param name="residual">M x N floats added last, or empty; may alias <paramref name="output"/>.</param>
    public static void Run(ReadOnlySpan<byte> packedActivations, QuantizedWeights weights,
        ReadOnlySpan<float> bias, Span<float> output, int pixels, ReadOnlySpan<float> residual = default)
        => RunPath(Best, packedActivations, weights, bias, output, pixels, residual);

    /// <summary>
    /// Quantizes the float input [K, N] (<see cref="QuantizeActivations"/>, into a per-thread buffer) and runs the
    /// GEMM: the int8 counterpart of <see cref="PointwiseConv.Run{TAct}"/> with the identity activation.
    /// </summary>
    public static void RunFloat(ReadOnlySpan<float> input, QuantizedWeights weights, ReadOnlySpan<float> bias,
        Span<float> output, int pixels, ReadOnlySpan<float> residual = default)
    {
        int length = PackedActivationLength(weights.K, pixels);
        var packed = MemoryMarshal.Cast<float, byte>(KernelIsa.ThreadBuffer((length + 3) / 4))[..length];
        QuantizeActivations(input, weights.K, pixels, packed);
        Run(packed, weights, bias, output, pixels, residual);
    }

    /// <summary>
    /// The GEMM on a chosen path (tests run every supported one). raw: instead of floats, store each exact int32
    /// accumulator sum_k a[k, p] q[m, k] (no zero point, scale or bias) as its bits in output.
    /// </summary>
    internal static void RunPath(QuantizedGemmPath path, ReadOnlySpan<byte> packedActivations, QuantizedWeights weights, ReadOnlySpan<float> bias, Span<float> output, int pixels, ReadOnlySpan<float> residual,
        bool raw = false)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (pixels <= 0) return;
        if (packedActivations.Length < PackedActivationLength(weights.K, pixels)) throw new ArgumentException("packed activations too short (use QuantizeActivations)", nameof(packedActivations));
        CheckOutputs(bias, output, residual, weights.M, pixels);
        fixed (byte* pa = packedActivations, pw = weights.Packed)
        fixed (float* pScales = weights.Scales, pb = bias, pc = output, pr = residual)
        fixed (int* pSums = weights.RowSums)
        {
            var view = new QuantizedWeightsView(weights.K, weights.M, pw, pScales, pSums);
            RunPointers<Identity>(path, pa, view, bias.IsEmpty ? null : pb, pc, pixels, residual.IsEmpty ? null : pr, raw, pool: null);
        }
    }

    /// <summary>Throws on a bias, output or residual too short for M x N.</summary>
    internal static void CheckOutputs(ReadOnlySpan<float> bias, ReadOnlySpan<float> output, ReadOnlySpan<float> residual, int m, int pixels)
    {
        if (output.Length < m * pixels) throw new ArgumentException("output too short", nameof(output));
        if (!bias.IsEmpty && bias.Length < m) throw new ArgumentException("bias too short", nameof(bias));
        if (!residual.IsEmpty && residual.Length < m * pixels) throw new ArgumentException("residual too short", nameof(residual));
    }

    /// <summary>
    /// The checked GEMM on pointers: out[m, p] = act((float)(acc - zp[p] * rowSum[m]) * (scale[p] * sW[m]) + bias[m])
    /// (+ res), split over the pool's threads (<see cref="Split{TOps, TV, TAct}"/>). bias and res may be null.
    /// </summary>
    internal static void RunPointers<TAct>(QuantizedGemmPath path, byte* packedActivations, QuantizedWeightsView weights, float* bias, float* output, int pixels, float* residual, bool raw, WorkerPool? pool)
        where TAct : struct, IActivation
    {
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"the {path} int8 GEMM path needs instructions this machine lacks");
        int m = weights.M, offset = Offset(path);
        // Per row, once (rows padded to the 8-row panel): the accumulators hold sum (q - offset) w, so
        // sum (q - zp) w = acc - (zp * rowSum - offset * rowSum).
        int rowsPadded = (m + QuantizedWeights.PanelRows - 1) / QuantizedWeights.PanelRows * QuantizedWeights.PanelRows;
        Span<RowEpilogue> rows = rowsPadded <= 1024 ? stackalloc RowEpilogue[rowsPadded] : new RowEpilogue[rowsPadded];
        for (int r = 0; r < rowsPadded; r++)
        {
            int sum = r < m ? weights.RowSums[r] : 0;
            rows[r] = new RowEpilogue(sum, -offset * sum, r < m ? weights.Scales[r] : 0f, r < m && bias != null ? bias[r] : 0f);
        }
        fixed (RowEpilogue* pRows = rows)
        {
            var job = new Job
            {
                A = packedActivations, W = weights.Packed, Rows = pRows, C = output, Res = residual,
                PixelScales = PixelScales(packedActivations, weights.K, pixels),
                PixelZeroPoints = PixelZeroPoints(packedActivations, weights.K, pixels),
                KQuads = weights.KQuads, M = m, N = pixels, Raw = raw,
            };
            switch (path)
            {
                case QuantizedGemmPath.Scalar: Split<QuadScalar, int, TAct>(ref job, pool); break;
                case QuantizedGemmPath.Portable128: Split<QuadPortable128, Vector128<int>, TAct>(ref job, pool); break;
                case QuantizedGemmPath.Ssse3: Split<QuadSsse3, Vector128<int>, TAct>(ref job, pool); break;
                case QuantizedGemmPath.ArmDot: Split<QuadArmDot, Vector128<int>, TAct>(ref job, pool); break;
                case QuantizedGemmPath.AvxVnni128: Split<QuadVnni128, Vector128<int>, TAct>(ref job, pool); break;
                case QuantizedGemmPath.Avx2: Split<QuadAvx2, Vector256<int>, TAct>(ref job, pool); break;
                case QuantizedGemmPath.AvxVnni256: Split<QuadVnni256, Vector256<int>, TAct>(ref job, pool); break;
                default: Split<QuadAvx512BW, Vector512<int>, TAct>(ref job, pool); break;
            }
        }
    }

    private struct Job
    {
        public byte* A, W;
        public RowEpilogue* Rows;
        public float* C, Res, PixelScales;
        public int* PixelZeroPoints;
        public int KQuads, M, N;
        public bool Raw;
        // The split over threads: items are chunks of ChunkPixels pixels x Groups ranges of PanelsPerGroup weight panels.
        public int ChunkPixels, Groups, PanelsPerGroup;
    }
}

/// <summary>
/// One output row's constants of the GEMM's epilogue: its weights' sum, -offset x that sum (<see cref="IQuadDot{TV}.Offset"/>),
/// its weight scale and its bias. out = act((float)(acc - (zp[p] * Sum + OffsetCorrection)) * (scale[p] * Scale) + Bias);
/// raw: acc - OffsetCorrection.
/// </summary>
internal readonly record struct RowEpilogue(int Sum, int OffsetCorrection, float Scale, float Bias);
