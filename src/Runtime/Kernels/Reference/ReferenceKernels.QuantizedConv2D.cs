namespace MobileViT.Compiled.Kernels.Reference;

public static partial class ReferenceKernels
{
    /// <summary>
    /// The int8 k x k convolution, plainly: the input quantized per tensor (<see cref="QuantizeActivations"/>), unfolded
    /// into a [C k k, outH outW] byte matrix (row (ci * k + ky) * k + kx; a position in the padding is the zero point, the
    /// quantized 0), the weight [out, in, k, k] quantized per output channel (<see cref="QuantizeWeightsPerRow"/>), then
    /// <see cref="QuantizedGemm"/> and the activation.
    /// </summary>
    public static void QuantizedConv2D<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int height, int width, int outChannels, int kernelSize, int stride, int padding, int dilation)
        where TAct : struct, IActivation
    {
        int outHeight = (height + 2 * padding - dilation * (kernelSize - 1) - 1) / stride + 1;
        int outWidth = (width + 2 * padding - dilation * (kernelSize - 1) - 1) / stride + 1;
        int k = inChannels * kernelSize * kernelSize, n = outHeight * outWidth;
        var q = new byte[inChannels * height * width];
        var (scale, zeroPoint) = QuantizeActivations(input[..q.Length], q);
        var unfolded = new byte[k * n];
        for (int ci = 0; ci < inChannels; ci++)
        for (int ky = 0; ky < kernelSize; ky++)
        for (int kx = 0; kx < kernelSize; kx++)
        for (int oy = 0; oy < outHeight; oy++)
        for (int ox = 0; ox < outWidth; ox++)
        {
            int y = oy * stride - padding + ky * dilation, x = ox * stride - padding + kx * dilation;
            bool inside = y >= 0 && y < height && x >= 0 && x < width;
            unfolded[((ci * kernelSize + ky) * kernelSize + kx) * n + oy * outWidth + ox] =
                inside ? q[(ci * height + y) * width + x] : (byte)zeroPoint;
        }
        var w = new sbyte[k * outChannels];
        var scales = new float[outChannels];
        QuantizeWeightsPerRow(weight, k, outChannels, w, scales);
        QuantizedGemm(unfolded, scale, zeroPoint, w, scales, bias, output, k, outChannels, n, default);
        for (int i = 0; i < outChannels * n; i++) output[i] = TAct.Invoke(output[i]);
    }
}
