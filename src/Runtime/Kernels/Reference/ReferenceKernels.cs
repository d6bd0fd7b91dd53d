namespace MobileViT.Compiled.Kernels.Reference;

/// <summary>
/// Plain scalar twins of every fast kernel: the definition of what each kernel computes.
/// Tests compare the fast kernels against these; nothing in a generated model calls them.
/// All feature maps are batch 1, channel-major: [channels, height, width] flattened.
/// </summary>
public static partial class ReferenceKernels
{
    /// <summary>1x1 convolution: out[co, p] = act(bias[co] + sum_ci weight[co, ci] * in[ci, p]) + residual[co, p].</summary>
    /// <param name="residual">Empty for none; may alias <paramref name="output"/>.</param>
    public static void PointwiseConv<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int outChannels, int pixels, ReadOnlySpan<float> residual)
        where TAct : struct, IActivation
    {
        for (int co = 0; co < outChannels; co++)
        {
            for (int p = 0; p < pixels; p++)
            {
                float sum = bias[co];
                for (int ci = 0; ci < inChannels; ci++)
                    sum += weight[co * inChannels + ci] * input[ci * pixels + p];
                float value = TAct.Invoke(sum);
                if (!residual.IsEmpty) value += residual[co * pixels + p];
                output[co * pixels + p] = value;
            }
        }
    }

    /// <summary>Dense 2-D convolution, weight [outC, inC, k, k], zero padding.</summary>
    public static void Conv2D<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int inHeight, int inWidth, int outChannels,
        int kernelSize, int stride, int padding, int dilation)
        where TAct : struct, IActivation
    {
        int outHeight = ConvOutputSize(inHeight, kernelSize, stride, padding, dilation);
        int outWidth = ConvOutputSize(inWidth, kernelSize, stride, padding, dilation);
        for (int co = 0; co < outChannels; co++)
        for (int oy = 0; oy < outHeight; oy++)
        for (int ox = 0; ox < outWidth; ox++)
        {
            float sum = bias[co];
            for (int ci = 0; ci < inChannels; ci++)
            for (int ky = 0; ky < kernelSize; ky++)
            {
                int iy = oy * stride - padding + ky * dilation;
                if ((uint)iy >= (uint)inHeight) continue;
                for (int kx = 0; kx < kernelSize; kx++)
                {
                    int ix = ox * stride - padding + kx * dilation;
                    if ((uint)ix >= (uint)inWidth) continue;
                    sum += weight[((co * inChannels + ci) * kernelSize + ky) * kernelSize + kx]
                         * input[(ci * inHeight + iy) * inWidth + ix];
                }
            }
            output[(co * outHeight + oy) * outWidth + ox] = TAct.Invoke(sum);
        }
    }

    /// <summary>Depthwise 2-D convolution (groups = channels), weight [c, k, k], zero padding.</summary>
    public static void DepthwiseConv2D<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int channels, int inHeight, int inWidth, int kernelSize, int stride, int padding, int dilation)
        where TAct : struct, IActivation
    {
        int outHeight = ConvOutputSize(inHeight, kernelSize, stride, padding, dilation);
        int outWidth = ConvOutputSize(inWidth, kernelSize, stride, padding, dilation);
        for (int c = 0; c < channels; c++)
        for (int oy = 0; oy < outHeight; oy++)
        for (int ox = 0; ox < outWidth; ox++)
        {
            float sum = bias[c];
            for (int ky = 0; ky < kernelSize; ky++)
            {
                int iy = oy * stride - padding + ky * dilation;
                if ((uint)iy >= (uint)inHeight) continue;
                for (int kx = 0; kx < kernelSize; kx++)
                {
                    int ix = ox * stride - padding + kx * dilation;
                    if ((uint)ix >= (uint)inWidth) continue;
                    sum += weight[(c * kernelSize + ky) * kernelSize + kx] * input[(c * inHeight + iy) * inWidth + ix];
                }
            }
            output[(c * outHeight + oy) * outWidth + ox] = TAct.Invoke(sum);
        }
    }

    /// <summary>LayerNorm over the channels of each pixel (a token): biased variance, as torch.nn.LayerNorm.</summary>
    public static void LayerNormChannels(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> output, int channels, int pixels, float epsilon)
    {
        for (int p = 0; p < pixels; p++)
        {
            double mean = 0;
            for (int c = 0; c < channels; c++) mean += input[c * pixels + p];
            mean /= channels;
            double variance = 0;
            for (int c = 0; c < channels; c++)
            {
                double d = input[c * pixels + p] - mean;
                variance += d * d;
            }
            variance /= channels;
            double inv = 1.0 / Math.Sqrt(variance + epsilon);
            for (int c = 0; c < channels; c++)
                output[c * pixels + p] = (float)((input[c * pixels + p] - mean) * inv * gamma[c] + beta[c]);
        }
    }

    /// <summary>
    /// MobileViT's unfold + multi-head self-attention + fold, as index mapping on the feature map.
    /// <paramref name="qkv"/> holds query, key and value maps one after another: [3 * hidden, height, width].
    /// The tokens that attend to each other are the pixels at the same offset inside their
    /// patchHeight x patchWidth patch; each head owns hidden/heads consecutive channels.
    /// </summary>
    public static void PatchAttention(ReadOnlySpan<float> qkv, Span<float> output, int hidden, int heads,
        int height, int width, int patchHeight, int patchWidth)
    {
        int headDim = hidden / heads;
        int pixels = height * width;
        int patchesY = height / patchHeight, patchesX = width / patchWidth;
        int tokens = patchesY * patchesX;
        float scale = 1f / MathF.Sqrt(headDim);
        var pixelOf = new int[tokens];
        var scores = new double[tokens];
        for (int py = 0; py < patchHeight; py++)
        for (int px = 0; px < patchWidth; px++)
        {
            for (int n = 0; n < tokens; n++)
                pixelOf[n] = ((n / patchesX) * patchHeight + py) * width + (n % patchesX) * patchWidth + px;
            for (int h = 0; h < heads; h++)
            {
                int q0 = h * headDim, k0 = hidden + h * headDim, v0 = 2 * hidden + h * headDim;
                for (int i = 0; i < tokens; i++)
                {
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < tokens; j++)
                    {
                        double dot = 0;
                        for (int d = 0; d < headDim; d++)
                            dot += qkv[(q0 + d) * pixels + pixelOf[i]] * qkv[(k0 + d) * pixels + pixelOf[j]];
                        scores[j] = dot * scale;
                        if (scores[j] > max) max = scores[j];
                    }
                    double total = 0;
                    for (int j = 0; j < tokens; j++) { scores[j] = Math.Exp(scores[j] - max); total += scores[j]; }
                    for (int d = 0; d < headDim; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < tokens; j++) acc += scores[j] * qkv[(v0 + d) * pixels + pixelOf[j]];
                        output[(h * headDim + d) * pixels + pixelOf[i]] = (float)(acc / total);
                    }
                }
            }
        }
    }

    /// <summary>Mean over the pixels of each channel.</summary>
    public static void GlobalAveragePool(ReadOnlySpan<float> input, Span<float> output, int channels, int pixels)
    {
        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int p = 0; p < pixels; p++) sum += input[c * pixels + p];
            output[c] = (float)(sum / pixels);
        }
    }

    /// <summary>Fully connected layer: out[o] = bias[o] + sum_i weight[o, i] * in[i].</summary>
    public static void Linear(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inFeatures, int outFeatures)
    {
        for (int o = 0; o < outFeatures; o++)
        {
            float sum = bias[o];
            for (int i = 0; i < inFeatures; i++) sum += weight[o * inFeatures + i] * input[i];
            output[o] = sum;
        }
    }

    /// <summary>Output size of a convolution along one axis, as PyTorch computes it.</summary>
    public static int ConvOutputSize(int inSize, int kernelSize, int stride, int padding, int dilation)
        => (inSize + 2 * padding - dilation * (kernelSize - 1) - 1) / stride + 1;
}
