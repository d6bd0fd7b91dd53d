using MobileViT.Compiled.Imaging;
using StbImageWriteSharp;

namespace MobileViT.Cli;

/// <summary>
/// A segmentation model's logits turned into a per-pixel class map at the image's size: the logits are upsampled
/// bilinearly (half-pixel centres, as Hugging Face's post_process_semantic_segmentation) and argmaxed per pixel,
/// one output row at a time, so a large photo never needs classes x height x width floats.
/// </summary>
internal sealed class SegmentationMap
{
    private SegmentationMap(int width, int height, byte[] classes, int classCount)
    {
        Width = width;
        Height = height;
        Classes = classes;
        ClassCount = classCount;
    }

    public int Width { get; }
    public int Height { get; }
    public int ClassCount { get; }

    /// <summary>The class of each pixel, row-major.</summary>
    public byte[] Classes { get; }

    /// <param name="logits">[classes, logitHeight, logitWidth].</param>
    public static SegmentationMap FromLogits(ReadOnlySpan<float> logits, int classes, int logitHeight, int logitWidth, int width, int height)
    {
        if (classes > 256) throw new ArgumentOutOfRangeException(nameof(classes), "at most 256 classes fit a byte map");
        var map = new byte[(long)width * height];
        var x0 = new int[width];
        var x1 = new int[width];
        var lx = new float[width];
        float scaleX = (float)logitWidth / width, scaleY = (float)logitHeight / height;
        for (int x = 0; x < width; x++)
        {
            float sx = MathF.Max(scaleX * (x + 0.5f) - 0.5f, 0f);
            x0[x] = (int)sx;
            x1[x] = Math.Min(x0[x] + 1, logitWidth - 1);
            lx[x] = sx - x0[x];
        }
        int plane = logitHeight * logitWidth;
        var best = new float[width];
        for (int y = 0; y < height; y++)
        {
            float sy = MathF.Max(scaleY * (y + 0.5f) - 0.5f, 0f);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, logitHeight - 1);
            float ly = sy - y0;
            var row = map.AsSpan(y * width, width);
            for (int c = 0; c < classes; c++)
            {
                var top = logits.Slice(c * plane + y0 * logitWidth, logitWidth);
                var bottom = logits.Slice(c * plane + y1 * logitWidth, logitWidth);
                for (int x = 0; x < width; x++)
                {
                    float t = (1 - lx[x]) * top[x0[x]] + lx[x] * top[x1[x]];
                    float b = (1 - lx[x]) * bottom[x0[x]] + lx[x] * bottom[x1[x]];
                    float value = (1 - ly) * t + ly * b;
                    if (c == 0 || value > best[x])
                    {
                        best[x] = value;
                        row[x] = (byte)c;
                    }
                }
            }
        }
        return new SegmentationMap(width, height, map, classes);
    }

    /// <summary>The share of the image's pixels that each class covers.</summary>
    public double[] Shares()
    {
        var counts = new long[ClassCount];
        foreach (byte c in Classes) counts[c]++;
        return counts.Select(n => (double)n / Classes.Length).ToArray();
    }

    /// <summary>The PASCAL VOC colour of a class (the standard bit-interleaved palette; class 0 is black).</summary>
    public static (byte R, byte G, byte B) Colour(int index)
    {
        int r = 0, g = 0, b = 0;
        for (int bit = 7, c = index; c > 0; bit--, c >>= 3)
        {
            r |= (c & 1) << bit;
            g |= ((c >> 1) & 1) << bit;
            b |= ((c >> 2) & 1) << bit;
        }
        return ((byte)r, (byte)g, (byte)b);
    }

    /// <summary>The colour-coded mask as an RGB PNG.</summary>
    public void WriteMask(string path) => WritePng(path, (i, rgb) => Colour(Classes[i]));

    /// <summary>The mask blended half and half over the photo (background pixels keep the photo).</summary>
    public void WriteOverlay(string path, RawImage photo)
    {
        var rgb = photo.ToRgb();
        if (rgb.Width != Width || rgb.Height != Height) throw new ArgumentException("the photo's size differs from the map's");
        WritePng(path, (i, _) =>
        {
            byte pr = rgb.Pixels[3 * i], pg = rgb.Pixels[3 * i + 1], pb = rgb.Pixels[3 * i + 2];
            if (Classes[i] == 0) return (pr, pg, pb);
            var (r, g, b) = Colour(Classes[i]);
            return ((byte)((pr + r) / 2), (byte)((pg + g) / 2), (byte)((pb + b) / 2));
        });
    }

    private void WritePng(string path, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        var data = new byte[Classes.Length * 3];
        for (int i = 0; i < Classes.Length; i++)
        {
            var (r, g, b) = pixel(i, 0);
            data[3 * i] = r;
            data[3 * i + 1] = g;
            data[3 * i + 2] = b;
        }
        using var stream = File.Create(path);
        new ImageWriter().WritePng(data, Width, Height, ColorComponents.RedGreenBlue, stream);
    }
}
