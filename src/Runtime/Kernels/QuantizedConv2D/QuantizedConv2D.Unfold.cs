using System.Numerics;
using System.Runtime.CompilerServices;

namespace MobileViT.Compiled.Kernels;

public static unsafe partial class QuantizedConv2D
{
    /// <summary>
    /// Copies the input [C, H, W] into a zero-bordered [C, H + 2 pad, W + 2 pad] map. Zero quantizes to exactly the zero
    /// point, so the unfolding reads the border like any other value and needs no edge cases.
    /// </summary>
    private static void PadInput(float* input, int channels, int height, int width, int padding, float* padded)
    {
        int ph = height + 2 * padding, pw = width + 2 * padding;
        for (int c = 0; c < channels; c++)
        {
            float* dst = padded + (long)c * ph * pw;
            float* src = input + (long)c * height * width;
            new Span<float>(dst, padding * pw).Clear();
            for (int y = 0; y < height; y++)
            {
                float* row = dst + (long)(y + padding) * pw;
                new Span<float>(row, padding).Clear();
                new ReadOnlySpan<float>(src + (long)y * width, width).CopyTo(new Span<float>(row + padding, width));
                new Span<float>(row + padding + width, padding).Clear();
            }
            new Span<float>(dst + (long)(height + padding) * pw, padding * pw).Clear();
        }
    }

    /// <summary>Per bordered pixel i: the min and the max of padded[c, i] over the channels.</summary>
    private static void ChannelRanges(float* padded, int channels, int pixels, float* min, float* max, bool vector)
    {
        int lanes = Vector<float>.Count, i = 0;
        if (vector)
        {
            for (; i + lanes <= pixels; i += lanes)
            {
                var lo = Vector.Load(padded + i);
                var hi = lo;
                for (int c = 1; c < channels; c++)
                {
                    var v = Vector.Load(padded + (long)c * pixels + i);
                    lo = Vector.Min(lo, v);
                    hi = Vector.Max(hi, v);
                }
                lo.Store(min + i);
                hi.Store(max + i);
            }
        }
        for (; i < pixels; i++)
        {
            float lo = padded[i], hi = lo;
            for (int c = 1; c < channels; c++) { lo = MathF.Min(lo, padded[(long)c * pixels + i]); hi = MathF.Max(hi, padded[(long)c * pixels + i]); }
            min[i] = lo;
            max[i] = hi;
        }
    }

    /// <summary>
    /// Each output pixel's scale and zero point (<see cref="QuantizedGemm.Parameters"/>) from the min and max of its
    /// receptive field: the k x k bordered pixels it reads, over all channels (its column of the unfolded input). Written
    /// where the GEMM reads them in the packed activations; the padding pixels get scale 1 and zero point 0. Also each
    /// pixel's 1 / scale into j.Inverse, which may be <paramref name="pixelMin"/>: written a row of output pixels at a time
    /// after that row's windows are read, and a later row's windows start at bordered pixel (oy s) PW >= the pixels
    /// written so far, so they never read what was overwritten.
    /// </summary>
    private static void WindowParameters(ref UnfoldJob j, float* pixelMin, float* pixelMax)
    {
        int n = j.OutHeight * j.OutWidth, width = j.OutWidth;
        float* scales = QuantizedGemm.PixelScales(j.Packed, j.K, n);
        int* zps = QuantizedGemm.PixelZeroPoints(j.Packed, j.K, n);
        // One output row's window ranges at a time, then their parameters by QuantizeActivations' own function.
        float[]? heap = width > 4096 ? new float[2 * width] : null;
        Span<float> ranges = heap ?? stackalloc float[2 * width];
        fixed (float* lo = ranges)
        {
            float* hi = lo + width;
            for (int oy = 0; oy < j.OutHeight; oy++)
            {
                for (int ox = 0; ox < width; ox++)
                {
                    float l = float.PositiveInfinity, h = float.NegativeInfinity;
                    for (int ky = 0; ky < j.Kernel; ky++)
                    for (int kx = 0; kx < j.Kernel; kx++)
                    {
                        long i = (long)(oy * j.Stride + ky * j.Dilation) * j.PaddedWidth + ox * j.Stride + kx * j.Dilation;
                        l = MathF.Min(l, pixelMin[i]);
                        h = MathF.Max(h, pixelMax[i]);
                    }
                    lo[ox] = l;
                    hi[ox] = h;
                }
                int p0 = oy * width;
                QuantizedGemm.Parameters(lo, hi, width, scales + p0, zps + p0, j.Inverse + p0, j.Vector);
            }
        }
        for (int p = n; p < QuantizedGemm.PaddedPixels(n); p++) { scales[p] = 1f; zps[p] = 0; }
    }

    /// <summary>
    /// The unfolded (im2col) input, quantized and packed as <see cref="QuantizedGemm"/> reads its activations: GEMM row
    /// kk = (ci * k + ky) * k + kx (PyTorch's weight order, so the weight is the [out, in * k * k] matrix as stored),
    /// pixel p = oy * outW + ox, value padded[ci, oy * stride + ky * dilation, ox * stride + kx * dilation],
    /// q = clamp(round(x / scale[p]) + zp[p], 0, 254) with the pixel's parameters (<see cref="WindowParameters"/>), as
    /// <see cref="QuantizedGemm.QuantizeActivations"/> computes it (its very functions).
    /// Quads [first, last) only (the caller splits them over threads). With stride 1 and rows of whole vectors, each
    /// vector of pixels is one contiguous load per k: the 9 reads of each value cost less than a byte shuffle network.
    /// </summary>
    private static void PackUnfolded(float* padded, int paddedHeight, int paddedWidth, int kernel, int stride, int dilation,
        int k, int outHeight, int outWidth, byte* dst, float* inverses, bool vector, int first, int last)
    {
        int kq = (k + 3) / 4, n = outHeight * outWidth, np = QuantizedGemm.PaddedPixels(n);
        int lanes = Vector<float>.Count, taps = kernel * kernel;
        bool rowVectors = vector && stride == 1 && outWidth % lanes == 0 && QuantizedGemm.TilePixels % lanes == 0;
        int* zps = QuantizedGemm.PixelZeroPoints(dst, k, n);
        var vMax = new Vector<int>(QuantizedGemm.MaxActivation);
        float** src = stackalloc float*[4];
        for (int i = first; i < last; i++)
        {
            byte* d0 = dst + (long)i * QuantizedGemm.TileBytes;
            int rowsHere = Math.Min(4, k - 4 * i);
            for (int r = 0; r < rowsHere; r++)
            {
                int kk = 4 * i + r, ci = kk / taps, ky = kk % taps / kernel, kx = kk % kernel;
                src[r] = padded + ((long)ci * paddedHeight + ky * dilation) * paddedWidth + kx * dilation;
            }
            for (int oy = 0; oy < outHeight; oy++)
            {
                long rowOffset = (long)oy * stride * paddedWidth;
                int p0 = oy * outWidth, ox = 0;
                if (rowVectors)
                {
                    for (; ox < outWidth; ox += lanes)
                    {
                        var lane = Vector<int>.Zero;
                        var inverse = Vector.Load(inverses + p0 + ox);
                        var zp = Vector.Load(zps + p0 + ox);
                        for (int r = 0; r < rowsHere; r++)
                            lane |= Vector.ShiftLeft(QuantizedGemm.QuantizeVector(src[r] + rowOffset + ox, inverse, zp, vMax), 8 * r);
                        lane.Store((int*)(d0 + QuantizedGemm.TileOffset(p0 + ox, kq)));
                    }
                }
                for (; ox < outWidth; ox++)
                {
                    int lane = 0, p = p0 + ox;
                    for (int r = 0; r < rowsHere; r++)
                        lane |= QuantizedGemm.QuantizeOne(src[r][rowOffset + (long)ox * stride], inverses[p], zps[p]) << (8 * r);
                    *(int*)(d0 + QuantizedGemm.TileOffset(p0 + ox, kq)) = lane;
                }
            }
            for (int p = n; p < np; p++) *(int*)(d0 + QuantizedGemm.TileOffset(p, kq)) = 0;
        }
    }
}
