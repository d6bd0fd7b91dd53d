
namespace MobileViT.Compiled.Kernels;

/// <summary>
/// MobileViTV2's separable self-attention over the unfolded patches, with unfold and fold as index mapping:
/// the tokens that attend together are the pixels at the same offset inside their patch. Linear in the number
/// of tokens: one softmax over the query channel, one weighted sum of keys (the context vector), then
/// relu(value) * context.
/// </summary>
public static class SeparableAttention
{
    /// <summary>Scratch floats <see cref="Run"/> needs: tokens + channels (the generator uses the same formula).</summary>
    public static int ScratchLength(int tokens, int channels) => tokens + channels;

    /// <param name="qkv">[1 + 2 * channels, height, width]: the query channel, then keys, then values.</param>
    /// <param name="output">[channels, height, width].</param>
    public static void Run(ReadOnlySpan<float> qkv, Span<float> output, int channels, int height, int width,
        int patchHeight, int patchWidth, Span<float> scratch)
    {
        int pixels = height * width;
        int patchesX = width / patchWidth, patchesY = height / patchHeight;
        int tokens = patchesX * patchesY;
        var scores = scratch[..tokens];
        var context = scratch.Slice(tokens, channels);
        for (int py = 0; py < patchHeight; py++)
        for (int px = 0; px < patchWidth; px++)
        {
            // softmax of the query over this offset's tokens
            float max = float.NegativeInfinity;
            for (int n = 0; n < tokens; n++) max = MathF.Max(max, qkv[PixelOf(n)]);
            float total = 0;
            for (int n = 0; n < tokens; n++)
            {
                float e = MathF.Exp(qkv[PixelOf(n)] - max);
                scores[n] = e;
                total += e;
            }
            float inverse = 1f / total;
            for (int n = 0; n < tokens; n++) scores[n] *= inverse;

            // context[c] = sum_n key[c, n] * score[n]
            for (int c = 0; c < channels; c++)
            {
                var keys = qkv.Slice((1 + c) * pixels, pixels);
                float sum = 0;
                for (int n = 0; n < tokens; n++) sum += keys[PixelOf(n)] * scores[n];
                context[c] = sum;
            }

            // out[c, n] = relu(value[c, n]) * context[c]
            for (int c = 0; c < channels; c++)
            {
                var values = qkv.Slice((1 + channels + c) * pixels, pixels);
                var target = output.Slice(c * pixels, pixels);
                float k = context[c];
                for (int n = 0; n < tokens; n++)
                {
                    int p = PixelOf(n);
                    target[p] = MathF.Max(values[p], 0f) * k;
                }
            }

            int PixelOf(int n)
            {
                int row = n / patchesX;
                return (row * patchHeight + py) * width + (n - row * patchesX) * patchWidth + px;
            }
        }
    }
}
