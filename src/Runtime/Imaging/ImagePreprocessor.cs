namespace MobileViT.Compiled.Imaging;

/// <summary>
/// Turns a decoded image into a model's <c>pixel_values</c> (NCHW float32, batch 1) following a
/// <see cref="PreprocessorConfig"/> with the semantics of Hugging Face's <c>MobileViTImageProcessor</c>:
/// resize (shortest edge or fixed size), center crop (torchvision's rounding, zero padding when the crop is larger),
/// rescale, optional normalize, RGB to BGR. One-channel models get the image's luma.
/// </summary>
public static class ImagePreprocessor
{
    /// <summary>
    /// Preprocesses <paramref name="image"/> into <paramref name="output"/>, which holds
    /// <paramref name="channels"/> x <paramref name="height"/> x <paramref name="width"/> floats (a model's input).
    /// </summary>
    /// <exception cref="ArgumentException">The configuration does not produce the requested size, or the output span has the wrong length.</exception>
    public static void Run(RawImage image, PreprocessorConfig config, int channels, int height, int width, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(config);
        if (channels is not (1 or 3)) throw new ArgumentException($"models take 1 or 3 channels, not {channels}", nameof(channels));
        if (output.Length != (long)channels * height * width)
            throw new ArgumentException($"output has {output.Length} floats; {channels}x{height}x{width} needs {channels * height * width}", nameof(output));
        var (outHeight, outWidth) = config.OutputSize(image.Height, image.Width);
        if (outHeight != height || outWidth != width)
            throw new ArgumentException($"the preprocessing makes {outHeight}x{outWidth} images from a {image.Height}x{image.Width} image, but the model takes {height}x{width}");
        if (config.DoNormalize && (config.ImageMean.Length is not (1 or 3) || config.ImageStd.Length is not (1 or 3)))
            throw new ArgumentException("image_mean and image_std hold 1 or 3 values");

        image = channels == 1 ? image.ToGrayscale() : image.ToRgb();
        var (resizedHeight, resizedWidth) = config.ResizedSize(image.Height, image.Width);
        float scale = config.DoRescale ? config.RescaleFactor : 1f;

        // Center crop as torchvision does: top = round((H - h) / 2) (ties to even); a crop larger than the image pads with zeros.
        int top = 0, left = 0;
        if (config.DoCenterCrop)
        {
            top = CropOffset(resizedHeight, height);
            left = CropOffset(resizedWidth, width);
        }
        // Channel-major floats of the resized image, rescaled. None is as large as the decoded image: an image that is
        // not resized is converted only where the crop reads it, and the bilinear resize reads the bytes directly.
        float[] planes;
        if (!config.DoResize || (resizedHeight == image.Height && resizedWidth == image.Width))
        {
            planes = ToPlanes(image, scale, top, left, height, width);
            (resizedHeight, resizedWidth, top, left) = (height, width, 0, 0);
        }
        else if (config.Antialias)
            planes = ToPlanes(Resize.Antialiased(image, resizedHeight, resizedWidth, config.Resample), scale, 0, 0, resizedHeight, resizedWidth);
        else
        {
            if (config.Resample != Resampling.Bilinear)
                throw new ArgumentException($"resizing without antialiasing supports bilinear only, not {config.Resample}");
            planes = new float[channels * resizedHeight * resizedWidth];
            Resize.BilinearFloat(image, scale, planes, resizedHeight, resizedWidth);
        }

        for (int c = 0; c < channels; c++)
        {
            int source = config.DoFlipChannelOrder ? channels - 1 - c : c; // RGB -> BGR
            float mean = 0, std = 1;
            if (config.DoNormalize)
            {
                mean = config.ImageMean[config.ImageMean.Length == 1 ? 0 : c];
                std = config.ImageStd[config.ImageStd.Length == 1 ? 0 : c];
            }
            var plane = planes.AsSpan(source * resizedHeight * resizedWidth, resizedHeight * resizedWidth);
            var target = output.Slice(c * height * width, height * width);
            for (int y = 0; y < height; y++)
            {
                int sy = y + top;
                for (int x = 0; x < width; x++)
                {
                    int sx = x + left;
                    float v = sy >= 0 && sy < resizedHeight && sx >= 0 && sx < resizedWidth ? plane[sy * resizedWidth + sx] : 0f;
                    target[y * width + x] = config.DoNormalize ? (v - mean) / std : v;
                }
            }
        }
    }

    /// <summary>Allocates the output and preprocesses into it (see <see cref="Run(RawImage, PreprocessorConfig, int, int, int, Span{float})"/>).</summary>
    public static float[] Run(RawImage image, PreprocessorConfig config, int channels, int height, int width)
    {
        var output = new float[channels * height * width];
        Run(image, config, channels, height, width, output);
        return output;
    }

    private static int CropOffset(int size, int crop)
    {
        if (size >= crop) return (int)Math.Round((size - crop) / 2.0, MidpointRounding.ToEven);
        return -((crop - size) / 2); // torchvision pads (crop - size) / 2 on the leading side
    }

    /// <summary>
    /// The <paramref name="height"/> x <paramref name="width"/> window at (<paramref name="top"/>, <paramref name="left"/>)
    /// of the image as channel-major floats times <paramref name="scale"/>; zero where the window leaves the image.
    /// </summary>
    private static float[] ToPlanes(RawImage image, float scale, int top, int left, int height, int width)
    {
        int c = image.Channels, n = height * width;
        var planes = new float[c * n];
        var pixels = image.Pixels;
        for (int y = 0; y < height; y++)
        {
            int sy = y + top;
            if (sy < 0 || sy >= image.Height) continue;
            for (int x = 0; x < width; x++)
            {
                int sx = x + left;
                if (sx < 0 || sx >= image.Width) continue;
                int source = (sy * image.Width + sx) * c;
                for (int ch = 0; ch < c; ch++) planes[ch * n + y * width + x] = pixels[source + ch] * scale;
            }
        }
        return planes;
    }
}
