namespace MobileViT.Compiled.Kernels.Reference;

public static partial class ReferenceKernels
{
    /// <summary>
    /// GroupNorm with one group (MobileViTV2's "layernorm"): mean and biased variance over every element of the
    /// [channels, pixels] map, then a per-channel affine, as torch.nn.GroupNorm(num_groups=1).
    /// </summary>
    public static void GroupNormSingleGroup(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> output, int channels, int pixels, float epsilon)
    {
        int count = channels * pixels;
        double mean = 0;
        for (int i = 0; i < count; i++) mean += input[i];
        mean /= count;
        double variance = 0;
        for (int i = 0; i < count; i++) variance += (input[i] - mean) * (input[i] - mean);
        variance /= count;
        double inv = 1.0 / Math.Sqrt(variance + epsilon);
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < pixels; p++)
                output[c * pixels + p] = (float)((input[c * pixels + p] - mean) * inv * gamma[c] + beta[c]);
    }

    /// <summary>
    /// MobileViTV2's separable (linear) self-attention on the patch-major token groups, as index mapping:
    /// <paramref name="qkv"/> is [1 + 2C, height, width] (one query channel, C key channels, C value channels).
    /// For each offset inside the patchHeight x patchWidth patch, the query of the tokens at that offset is
    /// softmaxed over the tokens, the keys are summed with those weights into a context vector, and
    /// out[c, token] = relu(value[c, token]) * context[c].
    /// </summary>
    public static void SeparableAttention(ReadOnlySpan<float> qkv, Span<float> output, int channels,
        int height, int width, int patchHeight, int patchWidth)
    {
        int pixels = height * width;
        int patchesX = width / patchWidth;
        int tokens = (height / patchHeight) * patchesX;
        var scores = new double[tokens];
        for (int py = 0; py < patchHeight; py++)
        for (int px = 0; px < patchWidth; px++)
        {
            int Pixel(int n) => ((n / patchesX) * patchHeight + py) * width + (n % patchesX) * patchWidth + px;
            double max = double.NegativeInfinity;
            for (int n = 0; n < tokens; n++) max = Math.Max(max, qkv[Pixel(n)]);
            double total = 0;
            for (int n = 0; n < tokens; n++) { scores[n] = Math.Exp(qkv[Pixel(n)] - max); total += scores[n]; }
            for (int c = 0; c < channels; c++)
            {
                double context = 0;
                for (int n = 0; n < tokens; n++) context += qkv[(1 + c) * pixels + Pixel(n)] * scores[n] / total;
                for (int n = 0; n < tokens; n++)
                    output[c * pixels + Pixel(n)] = (float)(Math.Max(qkv[(1 + channels + c) * pixels + Pixel(n)], 0f) * context);
            }
        }
    }
}
