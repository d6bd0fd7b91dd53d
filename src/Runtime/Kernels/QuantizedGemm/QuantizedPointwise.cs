using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// The int8 1x1 convolution (and linear layer): the twin of <see cref="PointwiseConv"/> with the same shapes, layouts
/// and semantics, on an encoded int8 weight (<see cref="QuantizedWeights.Encode(ReadOnlySpan{float}, int, int)"/>,
/// read in place). The float input [inChannels, pixels] is quantized per pixel at run time
/// (<see cref="QuantizedGemm.QuantizeActivations"/>, into a per-thread buffer, so input may overlap output), then
/// out[m, p] = act(sA[p] * sW[m] * (acc[m, p] - zp[p] * rowSum[m]) + bias[m]) + residual[m, p], the activation fused into the
/// GEMM's epilogue. Residual may alias output. No allocation per call once the thread's buffer has grown.
/// Results are bitwise the same for any thread count.
/// </summary>
public static unsafe class QuantizedPointwise
{
    /// <summary>out = act(bias + W q(in)) + residual; residual empty for none.</summary>
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> encodedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual = default,
        WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunPath<TAct>(QuantizedGemm.Best, Norm.None, input, default, default, 0f, encodedWeight, bias, output,
            inChannels, outChannels, pixels, residual, pool);

    /// <summary>
    /// out = act(bias + W q(LN(in))) + residual, LN the LayerNorm over each pixel's channels exactly as
    /// <see cref="LayerNorm.Channels"/> computes it (run first into the thread's buffer).
    /// </summary>
    public static void RunLayerNormed<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, ReadOnlySpan<float> encodedWeight, ReadOnlySpan<float> bias, Span<float> output, int inChannels,
        int outChannels, int pixels, ReadOnlySpan<float> residual = default, WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunPath<TAct>(QuantizedGemm.Best, Norm.Layer, input, gamma, beta, epsilon, encodedWeight, bias, output,
            inChannels, outChannels, pixels, residual, pool);

    /// <summary>
    /// out = act(bias + W q(GN(in))) + residual, GN the single-group GroupNorm over the whole map exactly as
    /// <see cref="GroupNorm.SingleGroup"/> computes it (run first into the thread's buffer).
    /// </summary>
    public static void RunGroupNormed<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, ReadOnlySpan<float> encodedWeight, ReadOnlySpan<float> bias, Span<float> output, int inChannels,
        int outChannels, int pixels, ReadOnlySpan<float> residual = default, WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunPath<TAct>(QuantizedGemm.Best, Norm.Group, input, gamma, beta, epsilon, encodedWeight, bias, output,
            inChannels, outChannels, pixels, residual, pool);

    /// <summary>Which normalization runs on the input before it is quantized.</summary>
    internal enum Norm { None, Layer, Group }

    /// <summary>Any of the three on a chosen GEMM path (tests run every supported one).</summary>
    internal static void RunPath<TAct>(QuantizedGemmPath path, Norm norm, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> beta, float epsilon, ReadOnlySpan<float> encodedWeight, ReadOnlySpan<float> bias, Span<float> output,
        int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual, WorkerPool? pool)
        where TAct : struct, IActivation
    {
        if (!Check(input, encodedWeight, bias, output, inChannels, outChannels, pixels, residual)) return;
        if (norm != Norm.None && (gamma.Length < inChannels || beta.Length < inChannels)) throw new ArgumentException("gamma/beta too short");

        int count = inChannels * pixels;
        int normedLength = norm == Norm.None ? 0 : (count + 15) & ~15;
        int packedFloats = QuantizedGemm.PackedActivationLength(inChannels, pixels) / 4;
        float* scratch = Scratch(normedLength + packedFloats);
        byte* packed = (byte*)(scratch + normedLength);
        var normed = new Span<float>(scratch, count);
        if (norm == Norm.Layer) LayerNorm.Channels(input, gamma, beta, normed, inChannels, pixels, epsilon, pool);
        else if (norm == Norm.Group) GroupNorm.SingleGroup(input, gamma, beta, normed, inChannels, pixels, epsilon, pool);

        fixed (float* pIn = input, pW = encodedWeight, pBias = bias, pOut = output, pRes = residual)
        {
            float* x = norm == Norm.None ? pIn : scratch;
            QuantizedGemm.QuantizeActivationsSplit(x, inChannels, pixels, packed, pool);
            var weights = QuantizedWeightsView.Encoded(pW, inChannels, outChannels);
            QuantizedGemm.RunPointers<TAct>(path, packed, weights, bias.IsEmpty ? null : pBias, pOut, pixels,
                residual.IsEmpty ? null : pRes, raw: false, pool);
        }
    }

    /// <summary>Throws on shapes the spans cannot hold; false when there is nothing to compute.</summary>
    private static bool Check(ReadOnlySpan<float> input, ReadOnlySpan<float> encodedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual)
    {
        if (pixels <= 0 || outChannels <= 0) return false;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        if (input.Length < inChannels * pixels) throw new ArgumentException("input too short", nameof(input));
        QuantizedWeights.CheckEncoded(encodedWeight, inChannels, outChannels, nameof(encodedWeight));
        QuantizedGemm.CheckOutputs(bias, output, residual, outChannels, pixels);
        return true;
    }

    [ThreadStatic] private static float[]? s_scratch;

    /// <summary>
    /// This thread's buffer for the normalized input and the packed activations, on a cache line; it only grows. Not
    /// <see cref="KernelIsa.ThreadBuffer"/>: GroupNorm keeps its partial sums there while this buffer is in use.
    /// </summary>
    private static float* Scratch(int length)
    {
        var buffer = s_scratch;
        if (buffer is null || buffer.Length < length + 16) s_scratch = buffer = AlignedBuffer.Allocate(Math.Max(length, 4096));
        fixed (float* p = AlignedBuffer.Align(buffer, length)) return p; // pinned object heap: the address stays valid
    }
}
