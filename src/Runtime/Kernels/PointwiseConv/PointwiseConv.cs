using System.Runtime.Intrinsics;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>1x1 convolution (and the transformer's linear layers, which are the same GEMM on the channel-major layout).</summary>
public static unsafe class PointwiseConv
{
    /// <summary>
    /// Repacks a [outChannels, inChannels] weight into the layout <see cref="Run{TAct}"/> reads. Called once at load.
    /// Layout: panels of 8 output channels, <c>packed[((co / 8) * inChannels + ci) * 8 + co % 8] = w[co, ci]</c>,
    /// zero rows past outChannels (length = ceil(outChannels / 8) * 8 * inChannels).
    /// </summary>
    public static float[] PackWeights(ReadOnlySpan<float> weight, int inChannels, int outChannels)
        => Gemm.PackWeights(weight, inChannels, outChannels);

    /// <summary>out[co, p] = act(bias[co] + sum_ci w[co, ci] * in[ci, p]) + residual[co, p]; residual empty for none, may alias output.</summary>
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual = default,
        WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunIsa<TAct>(input, packedWeight, bias, output, inChannels, outChannels, pixels, residual, KernelIsa.Best, pool: pool);

    /// <summary>The same on a chosen instruction-set path (tests run every path).</summary>
    internal static void RunIsa<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual, Isa isa,
        bool forceMr4 = false, WorkerPool? pool = null)
        where TAct : struct, IActivation
    {
        if (!Check(input, packedWeight, bias, output, inChannels, outChannels, pixels, residual)) return;

        fixed (float* pIn = input)
        {
            // Blocks are read in place unless the input overlaps the output (packing first keeps that case correct).
            var packer = new RowMajorPacker { Input = pIn, K = inChannels, N = pixels, Direct = !input.Overlaps(output) };
            RunPacked<TAct, RowMajorPacker>(ref packer, packedWeight, bias, output, residual, inChannels, outChannels, pixels, isa, forceMr4, pool);
        }
    }

    /// <summary>
    /// out = act(bias + W x LN(in)) + residual, where LN is LayerNorm over the input's channels (per pixel, biased
    /// variance, then gamma and beta): the pre-norm transformer's LayerNorm and the projection after it in one pass.
    /// The normalization runs on each packed block of the GEMM's input (<see cref="LayerNormPacker"/>), so the
    /// normalized map is never stored. Same arithmetic as <see cref="LayerNorm.Channels"/>' vector path.
    /// </summary>
    public static void RunLayerNormed<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, Span<float> output, int inChannels,
        int outChannels, int pixels, ReadOnlySpan<float> residual = default, WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunLayerNormedIsa<TAct>(input, gamma, beta, epsilon, packedWeight, bias, output, inChannels, outChannels, pixels,
            residual, KernelIsa.Best, pool);

    internal static void RunLayerNormedIsa<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, Span<float> output, int inChannels,
        int outChannels, int pixels, ReadOnlySpan<float> residual, Isa isa, WorkerPool? pool = null)
        where TAct : struct, IActivation
    {
        if (!Check(input, packedWeight, bias, output, inChannels, outChannels, pixels, residual)) return;
        if (gamma.Length < inChannels || beta.Length < inChannels) throw new ArgumentException("gamma/beta too short");

        fixed (float* pIn = input, pG = gamma, pBeta = beta)
        {
            var packer = new LayerNormPacker
            {
                Rows = new RowMajorPacker { Input = pIn, K = inChannels, N = pixels }, Gamma = pG, Beta = pBeta, Epsilon = epsilon,
            };
            RunPacked<TAct, LayerNormPacker>(ref packer, packedWeight, bias, output, residual, inChannels, outChannels, pixels, isa, false, pool);
        }
    }

    /// <summary>
    /// out = act(bias + W x GN(in)) + residual, where GN is a single-group GroupNorm over the whole input map (one mean
    /// and variance, then gamma and beta per channel): MobileViTV2's norm and the 1x1 convolution after it. The
    /// statistics take two reading passes (<see cref="GroupNorm.Statistics"/>); the normalization runs on each packed
    /// block of the GEMM's input (<see cref="GroupNormPacker"/>). Bitwise the same as <see cref="GroupNorm.SingleGroup"/>
    /// followed by <see cref="Run{TAct}"/>.
    /// </summary>
    public static void RunGroupNormed<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, Span<float> output, int inChannels,
        int outChannels, int pixels, ReadOnlySpan<float> residual = default, WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunGroupNormedIsa<TAct>(input, gamma, beta, epsilon, packedWeight, bias, output, inChannels, outChannels, pixels,
            residual, KernelIsa.Best, pool);

    internal static void RunGroupNormedIsa<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, Span<float> output, int inChannels,
        int outChannels, int pixels, ReadOnlySpan<float> residual, Isa isa, WorkerPool? pool = null)
        where TAct : struct, IActivation
    {
        if (!Check(input, packedWeight, bias, output, inChannels, outChannels, pixels, residual)) return;
        if (gamma.Length < inChannels || beta.Length < inChannels) throw new ArgumentException("gamma/beta too short");
        if (inChannels > MaxGroupNormedChannels) throw new ArgumentOutOfRangeException(nameof(inChannels), $"at most {MaxGroupNormedChannels} input channels");

        float* scale = stackalloc float[inChannels];
        fixed (float* pIn = input, pG = gamma, pBeta = beta)
        {
            var (mean, inverse) = GroupNorm.Statistics(pIn, inChannels * pixels, epsilon, pool);
            for (int c = 0; c < inChannels; c++) scale[c] = inverse * pG[c];
            var packer = new GroupNormPacker
            {
                Rows = new RowMajorPacker { Input = pIn, K = inChannels, N = pixels }, Scale = scale, Beta = pBeta, Mean = mean,
            };
            RunPacked<TAct, GroupNormPacker>(ref packer, packedWeight, bias, output, residual, inChannels, outChannels, pixels, isa, false, pool);
        }
    }

    /// <summary>The per-channel scales of <see cref="RunGroupNormed{TAct}"/> live on the stack (16 KiB at most).</summary>
    public const int MaxGroupNormedChannels = 4096;

    /// <summary>Throws on spans too short for the shapes; false when there is nothing to compute.</summary>
    private static bool Check(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual)
    {
        if (pixels <= 0 || outChannels <= 0) return false;
        if (input.Length < inChannels * pixels) throw new ArgumentException("input too short", nameof(input));
        if (packedWeight.Length < Gemm.PackedLength(inChannels, outChannels)) throw new ArgumentException("packed weight too short (use PackWeights)", nameof(packedWeight));
        if (output.Length < outChannels * pixels) throw new ArgumentException("output too short", nameof(output));
        if (!bias.IsEmpty && bias.Length < outChannels) throw new ArgumentException("bias too short", nameof(bias));
        if (!residual.IsEmpty && residual.Length < outChannels * pixels) throw new ArgumentException("residual too short", nameof(residual));
        return true;
    }

    /// <summary>The GEMM over the packer's input on the chosen path: the thread buffer as its panel, empty bias or residual as none.</summary>
    private static void RunPacked<TAct, TPacker>(ref TPacker packer, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, ReadOnlySpan<float> residual, int k, int m, int n, Isa isa, bool forceMr4, WorkerPool? pool)
        where TAct : struct, IActivation where TPacker : struct, IPanelPacker
    {
        Span<float> panel = KernelIsa.ThreadBuffer(Gemm.PanelLength(isa, k));
        fixed (float* w = packedWeight, pB = bias, c = output, pRes = residual, pPanel = panel)
        {
            float* b = bias.IsEmpty ? null : pB, res = residual.IsEmpty ? null : pRes;
            switch (isa)
            {
                case Isa.Vector512: Gemm.Run<Ops512, Vector512<float>, TAct, TPacker>(ref packer, w, b, c, res, k, m, n, pPanel, forceMr4, pool); break;
                case Isa.Vector256: Gemm.Run<Ops256, Vector256<float>, TAct, TPacker>(ref packer, w, b, c, res, k, m, n, pPanel, forceMr4, pool); break;
                case Isa.Vector128: Gemm.Run<Ops128, Vector128<float>, TAct, TPacker>(ref packer, w, b, c, res, k, m, n, pPanel, forceMr4, pool); break;
                default: Gemm.Run<OpsScalar, float, TAct, TPacker>(ref packer, w, b, c, res, k, m, n, pPanel, forceMr4, pool); break;
            }
        }
    }
}
