namespace MobileViT.Compiled.IO;

/// <summary>The weight transformations (fold, merge, concatenate), applied by <see cref="WeightPreparer"/> at build time and by Load.</summary>
public static class WeightPreparation
{
    /// <summary>
    /// Folds an inference-mode BatchNorm into the convolution before it:
    /// w' = w * gamma / sqrt(var + eps) per output channel, b' = beta - mean * gamma / sqrt(var + eps).
    /// </summary>
    public static (float[] Weight, float[] Bias) FoldBatchNorm(ITensorSource weights, string convolutionWeight,
        string normalizationPrefix, int outChannels, float epsilon)
    {
        var w = weights.Get(convolutionWeight);
        var gamma = weights.Get(normalizationPrefix + ".weight");
        var beta = weights.Get(normalizationPrefix + ".bias");
        var mean = weights.Get(normalizationPrefix + ".running_mean");
        var variance = weights.Get(normalizationPrefix + ".running_var");
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

    /// <summary>
    /// Two 1x1 convolutions in a row with nothing between them, as one: y = W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2).
    /// w1 is [middle, inChannels], w2 [outChannels, middle] (row-major, as stored); the product and the bias are summed
    /// in double precision and rounded once.
    /// </summary>
    public static (float[] Weight, float[] Bias) MultiplyPointwise(float[] w2, float[] b2, float[] w1, float[] b1,
        int inChannels, int middle, int outChannels)
    {
        if (w1.Length != middle * inChannels || b1.Length != middle || w2.Length != outChannels * middle || b2.Length != outChannels)
            throw new ArgumentException($"weights do not chain {inChannels}->{middle}->{outChannels}");
        var weight = new float[outChannels * inChannels];
        var bias = new float[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            double b = b2[o];
            for (int m = 0; m < middle; m++) b += (double)w2[o * middle + m] * b1[m];
            bias[o] = (float)b;
            for (int i = 0; i < inChannels; i++)
            {
                double sum = 0;
                for (int m = 0; m < middle; m++) sum += (double)w2[o * middle + m] * w1[m * inChannels + i];
                weight[o * inChannels + i] = (float)sum;
            }
        }
        return (weight, bias);
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
