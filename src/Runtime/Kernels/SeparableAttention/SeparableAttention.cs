
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
    public static unsafe void Run(ReadOnlySpan<float> qkv, Span<float> output, int channels, int height, int width,
        int patchHeight, int patchWidth, Span<float> scratch)
    {
        int pixels = height * width;
        int patchesX = width / patchWidth, patchesY = height / patchHeight;
        int tokens = patchesX * patchesY;
        if (qkv.Length < (1 + 2 * channels) * pixels || output.Length < channels * pixels || scratch.Length < tokens + channels)
            throw new ArgumentException("qkv, output or scratch is too short");
        // Tokens are visited row of patches by row of patches (no division per element), in the same order as
        // before, so every sum keeps its order and the results their bits.
        int rowStep = patchHeight * width;
        fixed (float* pQkv = qkv, pOut = output, pScratch = scratch)
        {
            float* scores = pScratch, context = pScratch + tokens;
            for (int py = 0; py < patchHeight; py++)
            for (int px = 0; px < patchWidth; px++)
            {
                int first = py * width + px; // pixel of token 0 at this offset
                // softmax of the query over this offset's tokens
                float max = float.NegativeInfinity;
                for (int row = 0, n = 0; row < patchesY; row++)
                    for (float* q = pQkv + first + row * rowStep, end = q + patchesX * patchWidth; q < end; q += patchWidth, n++)
                        max = MathF.Max(max, *q);
                float total = 0;
                for (int row = 0, n = 0; row < patchesY; row++)
                    for (float* q = pQkv + first + row * rowStep, end = q + patchesX * patchWidth; q < end; q += patchWidth, n++)
                    {
                        float e = MathF.Exp(*q - max);
                        scores[n] = e;
                        total += e;
                    }
                float inverse = 1f / total;
                for (int n = 0; n < tokens; n++) scores[n] *= inverse;

                // context[c] = sum_n key[c, n] * score[n]
                for (int c = 0; c < channels; c++)
                {
                    float* keys = pQkv + (long)(1 + c) * pixels + first;
                    float sum = 0;
                    for (int row = 0, n = 0; row < patchesY; row++)
                        for (float* k = keys + row * rowStep, end = k + patchesX * patchWidth; k < end; k += patchWidth, n++)
                            sum += *k * scores[n];
                    context[c] = sum;
                }

                // out[c, n] = relu(value[c, n]) * context[c]
                for (int c = 0; c < channels; c++)
                {
                    float* values = pQkv + (long)(1 + channels + c) * pixels + first;
                    float* target = pOut + (long)c * pixels + first;
                    float k = context[c];
                    for (int row = 0; row < patchesY; row++)
                        for (int x = row * rowStep, end = x + patchesX * patchWidth; x < end; x += patchWidth)
                            target[x] = MathF.Max(values[x], 0f) * k;
                }
            }
        }
    }
}
