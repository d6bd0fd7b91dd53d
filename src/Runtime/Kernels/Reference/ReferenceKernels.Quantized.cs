namespace MobileViT.Compiled.Kernels.Reference;

public static partial class ReferenceKernels
{
    /// <summary>
    /// Symmetric per-row int8: scale[m] = max_k |w[m, k]| / 127 (1 for an all-zero row),
    /// q[m, k] = clamp(round(w[m, k] / scale[m]), -127, 127), ties to even.
    /// </summary>
    public static void QuantizeWeightsPerRow(ReadOnlySpan<float> weight, int k, int m, Span<sbyte> q, Span<float> scales)
    {
        for (int row = 0; row < m; row++)
        {
            float maxAbs = 0f;
            for (int kk = 0; kk < k; kk++) maxAbs = MathF.Max(maxAbs, MathF.Abs(weight[row * k + kk]));
            float scale = maxAbs > 0f && float.IsFinite(maxAbs) ? maxAbs / 127f : 1f;
            scales[row] = scale;
            for (int kk = 0; kk < k; kk++)
                q[row * k + kk] = (sbyte)Math.Clamp((int)MathF.Round(weight[row * k + kk] / scale), -127, 127);
        }
    }

    /// <summary>
    /// Per-pixel unsigned quantization of x [K, N] (channel-major) into q [K, N]: pixel p's range
    /// [min(min_k x[k, p], 0), max(max_k x[k, p], 0)] maps onto [0, 254], scale[p] = (hi - lo) / 254 (1 when all is 0),
    /// zeroPoint[p] = clamp(round(-lo / scale), 0, 254), q = clamp(round(x / scale) + zeroPoint, 0, 254), where
    /// "/ scale" is "* (1 / scale)" and rounding is to even.
    /// </summary>
    public static void QuantizeActivations(ReadOnlySpan<float> x, int k, int n, Span<byte> q, Span<float> scales, Span<int> zeroPoints)
    {
        for (int p = 0; p < n; p++)
        {
            float lo = 0f, hi = 0f;
            for (int kk = 0; kk < k; kk++) { lo = MathF.Min(lo, x[kk * n + p]); hi = MathF.Max(hi, x[kk * n + p]); }
            float scale = (hi - lo) / 254f;
            if (!(scale > 0f) || !float.IsFinite(scale)) scale = 1f;
            float inverse = 1f / scale;
            int zp = Math.Clamp((int)MathF.Round(-lo * inverse), 0, 254);
            for (int kk = 0; kk < k; kk++) q[kk * n + p] = (byte)Math.Clamp((int)MathF.Round(x[kk * n + p] * inverse) + zp, 0, 254);
            scales[p] = scale;
            zeroPoints[p] = zp;
        }
    }

    /// <summary>acc[m, p] = sum_k a[k, p] * w[m, k] in int32: a [K, N] unsigned bytes, w [M, K] signed.</summary>
    public static void QuantizedGemmAccumulators(ReadOnlySpan<byte> a, ReadOnlySpan<sbyte> w, Span<int> acc, int k, int m, int n)
    {
        for (int row = 0; row < m; row++)
        for (int p = 0; p < n; p++)
        {
            int sum = 0;
            for (int kk = 0; kk < k; kk++) sum += a[kk * n + p] * w[row * k + kk];
            acc[row * n + p] = sum;
        }
    }

    /// <summary>
    /// The int8 1x1 convolution: out[m, p] = (float)(acc[m, p] - zp[p] * rowSum[m]) * (scaleA[p] * scaleW[m]) + bias[m]
    /// (+ residual[m, p]), evaluated in exactly that order (float multiply, then add bias, then residual), with acc from
    /// <see cref="QuantizedGemmAccumulators"/> and rowSum[m] = sum_k w[m, k]. Empty bias or residual for none.
    /// </summary>
    public static void QuantizedGemm(ReadOnlySpan<byte> a, ReadOnlySpan<float> scaleA, ReadOnlySpan<int> zeroPoint, ReadOnlySpan<sbyte> w,
        ReadOnlySpan<float> scaleW, ReadOnlySpan<float> bias, Span<float> output, int k, int m, int n, ReadOnlySpan<float> residual)
    {
        var acc = new int[m * n];
        QuantizedGemmAccumulators(a, w, acc, k, m, n);
        for (int row = 0; row < m; row++)
        {
            int rowSum = 0;
            for (int kk = 0; kk < k; kk++) rowSum += w[row * k + kk];
            float b = bias.IsEmpty ? 0f : bias[row];
            for (int p = 0; p < n; p++)
            {
                float y = (float)(acc[row * n + p] - zeroPoint[p] * rowSum) * (scaleA[p] * scaleW[row]) + b;
                if (!residual.IsEmpty) y += residual[row * n + p];
                output[row * n + p] = y;
            }
        }
    }

    /// <summary>
    /// The int8 1x1 convolution as <c>QuantizedPointwise</c> runs it, from a float weight [M, K]: the weight quantized
    /// per row (<see cref="QuantizeWeightsPerRow"/>), then <see cref="QuantizedPointwise{TAct}(ReadOnlySpan{float}, ReadOnlySpan{sbyte}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, ReadOnlySpan{float}, Func{float, float}?)"/>.
    /// </summary>
    public static void QuantizedPointwise<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual,
        Func<float, float>? activation = null)
        where TAct : struct, IActivation
    {
        var q = new sbyte[inChannels * outChannels];
        var scales = new float[outChannels];
        QuantizeWeightsPerRow(weight, inChannels, outChannels, q, scales);
        QuantizedPointwise<TAct>(input, q, scales, bias, output, inChannels, outChannels, pixels, residual, activation);
    }

    /// <summary>
    /// The int8 1x1 convolution on quantized weights q [M, K] with per-row scales: the input [K, N] quantized per pixel
    /// (<see cref="QuantizeActivations"/>), y = (float)(acc - zp[p] * rowSum[m]) * (scaleA[p] * scaleW[m]) + bias[m] with the
    /// exact int32 acc, then act(y), then + residual[m, p] (empty for none; may alias output), in that order.
    /// </summary>
    /// <param name="activation">
    /// TAct as the kernel applies it: by default its float form; a test passes the vector form of a GEMM path's width
    /// (SiLU's vector e^-x is not MathF.Exp's, and the kernel applies the vector form to whole vectors).
    /// </param>
    public static void QuantizedPointwise<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scaleW,
        ReadOnlySpan<float> bias, Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual,
        Func<float, float>? activation = null)
        where TAct : struct, IActivation
    {
        int k = inChannels, m = outChannels, n = pixels;
        var a = new byte[k * n];
        var scaleA = new float[n];
        var zp = new int[n];
        QuantizeActivations(input[..(k * n)], k, n, a, scaleA, zp);
        var y = new float[m * n]; // not output: the residual may alias it
        QuantizedGemm(a, scaleA, zp, q, scaleW, bias, y, k, m, n, default);
        for (int i = 0; i < m * n; i++)
        {
            float v = activation is null ? TAct.Invoke(y[i]) : activation(y[i]);
            output[i] = residual.IsEmpty ? v : v + residual[i];
        }
    }
}
