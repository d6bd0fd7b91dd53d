namespace MobileViT.Compiled.IO;

/// <summary>Weight transformations the generated code applies once at load time.</summary>
public static class WeightPreparation
{
    /// <summary>
    /// Folds an inference-mode BatchNorm into the convolution before it:
    /// w' = w * gamma / sqrt(var + eps) per output channel, b' = beta - mean * gamma / sqrt(var + eps).
    /// </summary>
    public static (float[] Weight, float[] Bias) FoldBatchNorm(WeightSet weights, string convolutionWeight,
        string normalizationPrefix, int outChannels, float epsilon)
    {
        float[] w = weights.Get(convolutionWeight);
        float[] gamma = weights.Get(normalizationPrefix + ".weight");
        float[] beta = weights.Get(normalizationPrefix + ".bias");
        float[] mean = weights.Get(normalizationPrefix + ".running_mean");
        float[] variance = weights.Get(normalizationPrefix + ".running_var");
        int perChannel = w.Length / outChannels;
        var folded = new float[w.Length];
        var bias = new float[outChannels];
        for (int c = 0; c < outChannels; c++)
        {
            double scale = gamma[c] / Math.Sqrt((double)variance[c] + epsilon);
            for (int i = 0; i < perChannel; i++)
                folded[c * perChannel + i] = (float)(w[c * perChannel + i] * scale);
            bias[c] = (float)(beta[c] - mean[c] * scale);
        }
        return (folded, bias);
    }

    /// <summary>Concatenates tensors along their first axis (used to fuse the query, key and value projections).</summary>
    public static float[] Concatenate(params float[][] parts)
    {
        var result = new float[parts.Sum(p => p.Length)];
        int offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }
        return result;
    }
}
