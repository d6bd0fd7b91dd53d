using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// MobileViT's unfold, multi-head self-attention and fold in one kernel: the unfold/fold are index mapping
/// (tokens at the same offset inside their patch attend to each other), so no patch tensor is ever built.
/// </summary>
public static class PatchAttention
{
    /// <summary>Scratch floats <see cref="Run"/> needs: tokens * tokens + 3 * tokens * headDim (the generator uses the same formula).</summary>
    public static int ScratchLength(int tokens, int headDim) => tokens * tokens + 3 * tokens * headDim;

    /// <param name="qkv">[3 * hidden, height, width]: query, key, value maps one after another.</param>
    /// <param name="output">[hidden, height, width]: the attention context (before the output projection).</param>
    public static void Run(ReadOnlySpan<float> qkv, Span<float> output, int hidden, int heads,
        int height, int width, int patchHeight, int patchWidth, Span<float> scratch)
        => ReferenceKernels.PatchAttention(qkv, output, hidden, heads, height, width, patchHeight, patchWidth);
}
