namespace MobileViT.Compiled.Kernels.Reference;

public static partial class ReferenceKernels
{
    /// <summary>
    /// The int8 k x k convolution, plainly: the input unfolded into a float [C k k, outH outW] matrix (row
    /// (ci * k + ky) * k + kx; a position in the padding is 0), that matrix quantized per pixel (<see cref="QuantizeActivations"/>:
    /// each output pixel's receptive field gets its own scale and zero point), the weight [out, in, k, k] quantized per
    /// output channel (<see cref="QuantizeWeightsPerRow"/>), then <see cref="QuantizedGemm"/> and the activation.
    /// </summary>
    public static void QuantizedConv2D<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int height, int width, int outChannels, int kernelSize, int stride, int padding, int dilation)
        where TAct : struct, IActivation
    {
        int outHeight = (height + 2 * padding - dilation * (kernelSize - 1) - 1) / stride + 1;
        int outWidth = (width + 2 * padding - dilation * (kernelSize - 1) - 1) / stride + 1;
        int k = inChannels * kernelSize * kernelSize, n = outHeight * outWidth;
        var unfolded = new float[k * n];
        for (int ci = 0; ci < inChannels; ci++)
        for (int ky = 0; ky < kernelSize; ky++)
        for (int kx = 0; kx < kernelSize; kx++)
        for (int oy = 0; oy < outHeight; oy++)
        for (int ox = 0; ox < outWidth; ox++)
        {
            int y = oy * stride - padding + ky * dilation, x = ox * stride - padding + kx * dilation;
            bool inside = y >= 0 && y < height && x >= 0 && x < width;
            unfolded[((ci * kernelSize + ky) * kernelSize + kx) * n + oy * outWidth + ox] = inside ? input[(ci * height + y) * width + x] : 0f;
        }
        var q = new byte[k * n];
        var scaleA = new float[n];
        var zeroPoints = new int[n];
        QuantizeActivations(unfolded, k, n, q, scaleA, zeroPoints);
        var w = new sbyte[k * outChannels];
        var scales = new float[outChannels];
        QuantizeWeightsPerRow(weight, k, outChannels, w, scales);
        QuantizedGemm(q, scaleA, zeroPoints, w, scales, bias, output, k, outChannels, n, default);
        for (int i = 0; i < outChannels * n; i++) output[i] = TAct.Invoke(output[i]);
    }
}
