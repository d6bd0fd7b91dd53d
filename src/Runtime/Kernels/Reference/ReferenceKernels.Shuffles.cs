namespace MobileViT.Compiled.Kernels.Reference;

public static partial class ReferenceKernels
{
    /// <summary>dst[2i] = even[i], dst[2i + 1] = odd[i] for i &lt; even.Length (the fold of 2-wide patches).</summary>
    public static void Interleave(ReadOnlySpan<float> even, ReadOnlySpan<float> odd, Span<float> dst)
    {
        for (int i = 0; i < even.Length; i++)
        {
            dst[2 * i] = even[i];
            dst[2 * i + 1] = odd[i];
        }
    }

    /// <summary>even[i] = src[2i], odd[i] = src[2i + 1] for i &lt; even.Length: <see cref="Interleave"/>'s inverse.</summary>
    public static void Deinterleave(ReadOnlySpan<float> src, Span<float> even, Span<float> odd)
    {
        for (int i = 0; i < even.Length; i++)
        {
            even[i] = src[2 * i];
            odd[i] = src[2 * i + 1];
        }
    }
}
