using System.Numerics;
using System.Runtime.InteropServices;

namespace MobileViT.Compiled.Kernels;

/// <summary>GroupNorm with a single group over a channel-major map (MobileViTV2's normalization of the token map).</summary>
public static class GroupNorm
{
    /// <summary>Normalizes over all channels x pixels with one mean and variance, then scales and shifts per channel.</summary>
    public static void SingleGroup(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> output, int channels, int pixels, float epsilon)
    {
        int count = channels * pixels;
        var data = input[..count];
        // Two passes in double: the mean of up to ~10^6 elements, then the centred sum of squares (no cancellation).
        double mean = Sum(data) / count;
        double variance = SumOfSquaredDeviations(data, (float)mean) / count;
        float inv = (float)(1.0 / Math.Sqrt(variance + epsilon));
        for (int c = 0; c < channels; c++)
        {
            // (x - mean) * scale + beta, not x * scale + shift: no cancellation when the variance is tiny.
            float scale = inv * gamma[c];
            float shift = beta[c];
            float meanF = (float)mean;
            var source = input.Slice(c * pixels, pixels);
            var target = output.Slice(c * pixels, pixels);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var vMean = new Vector<float>(meanF);
                var vScale = new Vector<float>(scale);
                var vShift = new Vector<float>(shift);
                var src = MemoryMarshal.Cast<float, Vector<float>>(source);
                var dst = MemoryMarshal.Cast<float, Vector<float>>(target);
                for (int v = 0; v < src.Length; v++) dst[v] = (src[v] - vMean) * vScale + vShift;
                i = src.Length * Vector<float>.Count;
            }
            for (; i < pixels; i++) target[i] = (source[i] - meanF) * scale + shift;
        }
    }

    private const int Block = 1024; // float vector partial sums over short blocks, accumulated in double

    private static double Sum(ReadOnlySpan<float> data)
    {
        double total = 0;
        for (int start = 0; start < data.Length; start += Block)
        {
            var block = data.Slice(start, Math.Min(Block, data.Length - start));
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(block);
            var acc = Vector<float>.Zero;
            foreach (var v in vectors) acc += v;
            float partial = Vector.Sum(acc);
            for (int i = vectors.Length * Vector<float>.Count; i < block.Length; i++) partial += block[i];
            total += partial;
        }
        return total;
    }

    private static double SumOfSquaredDeviations(ReadOnlySpan<float> data, float mean)
    {
        double total = 0;
        var vMean = new Vector<float>(mean);
        for (int start = 0; start < data.Length; start += Block)
        {
            var block = data.Slice(start, Math.Min(Block, data.Length - start));
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(block);
            var acc = Vector<float>.Zero;
            foreach (var v in vectors)
            {
                var d = v - vMean;
                acc += d * d;
            }
            float partial = Vector.Sum(acc);
            for (int i = vectors.Length * Vector<float>.Count; i < block.Length; i++)
            {
                float d = block[i] - mean;
                partial += d * d;
            }
            total += partial;
        }
        return total;
    }
}
