using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Text;
using MobileViT.Compiled.Kernels;

namespace MobileViT.Compiled;

/// <summary>One kernel and the tier its inner loop runs on in this process.</summary>
/// <param name="Kernel">The kernel, e.g. "depthwise rows3x3".</param>
/// <param name="Path">"Vector512", "Vector256", "Vector128" or "Scalar".</param>
/// <param name="Detail">The instructions it uses, e.g. "AVX-512F valignd/vpermt2ps", "AdvSimd zip1/zip2".</param>
public readonly record struct KernelPath(string Kernel, string Path, string Detail);

/// <summary>
/// Which instruction-set path every kernel a MobileViT, MobileViTV2 or DeepLabV3 model runs takes on this machine
/// (under NativeAOT: the paths the binary was compiled for). Each entry reads the selection its kernel's own entry
/// point uses (<c>KernelIsa.Best</c>, or the kernel's own selector where it has extra conditions), never a copy of it.
/// </summary>
public static class KernelInfo
{
    private static IReadOnlyList<KernelPath>? s_paths;

    /// <summary>Every kernel with the tier it runs on here, in the order a model's layers meet them.</summary>
    public static IReadOnlyList<KernelPath> Paths => s_paths ??= Collect(KernelIsa.Best);

    /// <summary>A readable table: the process architecture, the hardware flags, then one line per kernel.</summary>
    public static string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine($"Process architecture: {RuntimeInformation.ProcessArchitecture}; widest vector path: {KernelIsa.Best}");
        text.AppendLine($"Avx512F={Avx512F.IsSupported} Avx2={Avx2.IsSupported} Fma={Fma.IsSupported} Avx={Avx.IsSupported} " +
            $"Sse41={Sse41.IsSupported} AdvSimd={AdvSimd.IsSupported} AdvSimd.Arm64={AdvSimd.Arm64.IsSupported} Dp={Dp.IsSupported} " +
            $"AvxVnni={AvxVnni.IsSupported} Avx512BW={Avx512BW.IsSupported}");
        int kernelWidth = Paths.Max(p => p.Kernel.Length), pathWidth = Paths.Max(p => p.Path.Length);
        foreach (var p in Paths)
            text.AppendLine($"{p.Kernel.PadRight(kernelWidth)}  {p.Path.PadRight(pathWidth)}  {p.Detail}");
        return text.ToString();
    }

    /// <summary>The report for a machine whose widest path is <paramref name="best"/> (the hardware flags still apply).</summary>
    internal static IReadOnlyList<KernelPath> Collect(Isa best)
    {
        string isa = Instructions(best);
        var paths = new List<KernelPath>
        {
            Entry("pointwise GEMM microkernel", best, $"{isa} {FmaName(best)}, {GemmRows(best)}-row x 3-vector register tile"),
            Gemm.TinyNApplies(KernelIsa.Lanes(best))
                ? Entry("tiny-N GEMM (1-4 pixels)", Isa.Vector256, $"{Instructions(Isa.Vector256)} {FmaName(Isa.Vector256)} over 8 output channels")
                : Entry("tiny-N GEMM (1-4 pixels)", best, best == Isa.Scalar ? "scalar float" : $"the GEMM microkernel: one {best} holds all 1-4 pixels"),
            Entry("direct conv (stem)", best, $"{isa} {FmaName(best)}"),
            Entry("row conv 3x3", best, $"{isa} {FmaName(best)}"),
            Entry("padded conv 3x3", best, $"{isa} {FmaName(best)}, narrowest vector that holds a row"),
            Entry("Winograd F(2x2, 3x3)", best, $"{isa} transforms, the GEMM microkernel"),
            Entry("im2col packing", best, $"{isa} loads/stores"),
            Entry("depthwise (general)", best, $"{isa} {FmaName(best)} on a ring of padded rows"),
            DepthwiseRows3x3.Available(best)
                ? Entry("depthwise rows3x3", Isa.Vector512, "AVX-512F valignd/vpermt2ps")
                : Entry("depthwise rows3x3", best, $"not on this path: the general depthwise kernel runs ({isa})"),
            Entry("patch attention", best, $"{isa} {FmaName(best)} 4x2-vector tiles, base-2 softmax"),
            Entry("patch attention interleave", Min(TokenInterleave.Best, best), InterleaveDetail(Min(TokenInterleave.Best, best))),
            Entry("separable attention", best, $"{isa} on 2x2 patches; Vector128 with a partial last vector for rows of 4n + 2 floats"),
            Entry("LayerNorm", best, $"{isa} over pixels"),
            Entry("GroupNorm", GroupNorm.Tier, $"System.Numerics.Vector<float> ({Instructions(GroupNorm.Tier)})"),
            Entry("linear", best, $"{isa} {FmaName(best)}"),
            Entry("activations (SiLU/exp)", best, $"{isa} polynomial, 2^n by {ScaleName(best)}"),
            Entry("global average pool", best, $"{isa} adds"),
            Entry("bilinear resize", ResizeBilinear.Tier, ResizeBilinear.Tier == Isa.Scalar ? "scalar float"
                : $"portable Vector128 ({Instructions(Isa.Vector128)}) blends; the column taps are gathered by scalar loads"),
            Entry("crop/pad", CropPad.Tier, "Span.CopyTo/Clear (the runtime's memmove)"),
            // The int8 convolutions (Precision="int8", QuantizedPointwise and QuantizedConv2D): the GEMM path
            // (QuantizedGemm.Best is PathFor(KernelIsa.Best)) and the dynamic quantize step before it.
            Entry("int8 GEMM", QuantizedGemm.Tier(QuantizedGemm.PathFor(best)), QuantizedDetail(QuantizedGemm.PathFor(best))),
            Entry("int8 activation quantize", Min(QuantizedGemm.QuantizeTier, best),
                Min(QuantizedGemm.QuantizeTier, best) == Isa.Scalar ? "scalar float" : "System.Numerics.Vector per-pixel min/max, round, shift/or packing"),
            // The int8 k x k convolution (QuantizedConv2D): its unfolding into the GEMM's packed input, then the int8 GEMM.
            Entry("int8 conv unfold", Min(QuantizedConv2D.UnfoldTier, best),
                Min(QuantizedConv2D.UnfoldTier, best) == Isa.Scalar ? "scalar float" : "System.Numerics.Vector quantize of stride-1 rows of whole vectors, scalar otherwise"),
        };
        return paths;
    }

    /// <summary>The GEMM's tile height on a path: 8 rows with 32 vector registers (<c>Mr8</c>), else 4.</summary>
    private static int GemmRows(Isa tier) => tier switch
    {
        Isa.Vector512 => Ops512.Mr8,
        Isa.Vector256 => Ops256.Mr8,
        Isa.Vector128 => Ops128.Mr8,
        _ => OpsScalar.Mr8,
    } ? 8 : 4;

    private static KernelPath Entry(string kernel, Isa tier, string detail) => new(kernel, tier.ToString(), detail);

    private static Isa Min(Isa a, Isa b) => a < b ? a : b;

    /// <summary>The instruction family a path runs on here.</summary>
    private static string Instructions(Isa tier) => tier switch
    {
        Isa.Vector512 => "AVX-512F",
        Isa.Vector256 => Avx2.IsSupported ? "AVX2" : "AVX",
        Isa.Vector128 when AdvSimd.Arm64.IsSupported => "AdvSimd",
        Isa.Vector128 when Avx.IsSupported => "SSE (VEX)",
        Isa.Vector128 when Sse41.IsSupported => "SSE4.1",
        Isa.Vector128 => "SSE2",
        _ => "scalar float",
    };

    /// <summary>What VectorN.MultiplyAddEstimate compiles to on a path.</summary>
    private static string FmaName(Isa tier) => tier switch
    {
        Isa.Scalar => "mul+add",
        Isa.Vector128 when AdvSimd.IsSupported => "fmla",
        _ when Fma.IsSupported || tier == Isa.Vector512 => "vfmadd231ps",
        _ => "mulps+addps",
    };

    private static string ScaleName(Isa tier) => tier switch
    {
        Isa.Vector512 when VectorMath.HasScale512 => "vscalefps",
        Isa.Vector256 or Isa.Vector128 when VectorMath.HasScaleVL => "vscalefps (AVX-512VL)",
        Isa.Scalar => "MathF.Exp",
        _ => "the exponent bits (convert, shift, multiply)",
    };

    /// <summary>The instructions of an int8 GEMM path and its register tile.</summary>
    private static string QuantizedDetail(QuantizedGemmPath path)
    {
        string instructions = path switch
        {
            QuantizedGemmPath.AvxVnni256 => "AVX-VNNI vpdpbusd (256-bit)",
            QuantizedGemmPath.AvxVnni128 => "AVX-VNNI vpdpbusd (128-bit)",
            QuantizedGemmPath.Avx512BW => "AVX-512BW vpmaddubsw (|w| x signed a - 127) + vpmaddwd",
            QuantizedGemmPath.Avx2 => "AVX2 vpmaddubsw (|w| x signed a - 127, vpsignb) + vpmaddwd",
            QuantizedGemmPath.Ssse3 => "SSSE3 pmaddubsw (|w| x signed a - 127, psignb) + pmaddwd",
            QuantizedGemmPath.ArmDot => "AdvSimd.Dp sdot (a - 127)",
            QuantizedGemmPath.Portable128 => "portable Vector128 shifts + 32-bit multiplies",
            _ => "scalar int",
        };
        var (rows, vectors) = QuantizedGemm.Tile(path);
        return $"{instructions}, {rows}-row x {vectors}-vector int32 tile, activations 0..254 x s8 weights";
    }

    private static string InterleaveDetail(Isa tier) => tier switch
    {
        Isa.Vector512 => "AVX-512F vpermt2ps",
        Isa.Vector256 => "AVX unpcklps/unpckhps + vperm2f128",
        Isa.Vector128 => Ops128.Pairs switch
        {
            PairShuffle.Zip => "AdvSimd zip1/zip2",
            PairShuffle.Unpack => "SSE unpcklps/unpckhps",
            _ => "portable Vector128 widen/shift/or",
        },
        _ => "scalar float",
    };
}
