using System.Buffers.Binary;
using MobileViT.Compiled.Imaging;
using StbImageSharp;

namespace MobileViT.Cli;

/// <summary>
/// Decodes PNG, JPEG, BMP and GIF (first frame) with StbImageSharp, a pure-managed port of stb_image: no native
/// library, so the app runs the same under NativeAOT on any platform. 16-bit images are reduced to 8 bits, alpha is
/// dropped (as PIL's convert("RGB") does). The declared size is checked against a pixel limit (by default
/// <see cref="RawImage.DefaultMaxPixels"/>, Pillow's) before any pixel is decoded or allocated.
/// </summary>
internal static class ImageDecoder
{
    /// <summary>Files larger than this are refused before they are read.</summary>
    public const long MaxFileBytes = 256L * 1024 * 1024;

    /// <summary>The extensions a folder walk picks up (files named on the command line are decoded whatever their name).</summary>
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif"];

    /// <param name="maxPixels">The most pixels (width x height) the header may declare, from 1 to <see cref="RawImage.MaxPixels"/>.</param>
    /// <exception cref="ImageDecodeException">The file is missing, unreadable, not a supported image, or larger than the limits.</exception>
    public static RawImage Decode(string path, long maxPixels = RawImage.DefaultMaxPixels)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (Directory.Exists(path)) throw new ImageDecodeException("is a folder without images");
            if (!info.Exists) throw new ImageDecodeException("file not found");
            if (info.Length > MaxFileBytes) throw new ImageDecodeException($"the file is {info.Length} bytes long, more than the limit of {MaxFileBytes}");
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e) { throw new ImageDecodeException($"cannot read the file: {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new ImageDecodeException($"cannot read the file: {e.Message}", e); }
        return Decode(bytes, maxPixels);
    }

    /// <exception cref="ImageDecodeException">Not a supported image, or larger than the limits.</exception>
    public static RawImage Decode(byte[] bytes, long maxPixels = RawImage.DefaultMaxPixels)
    {
        RawImage.ValidateLimit(maxPixels);
        if (bytes.Length == 0) throw new ImageDecodeException("the file is empty");
        // The size a PNG, BMP or GIF header declares, checked first so the message says what is wrong with it
        // (stb_image refuses some of these sizes too, but only as "not an image").
        if (DeclaredSize(bytes) is { } declared) CheckSize(declared.Width, declared.Height, maxPixels);
        CheckJpegStructure(bytes);
        ImageInfo? info;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            info = ImageInfo.FromStream(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageDecodeException($"not a readable image: {e.Message}", e);
        }
        if (info is not { } header) throw new ImageDecodeException("not a PNG, JPEG, BMP or GIF image, or its header is invalid");
        // Every format's header (JPEG's frame header included) is checked here, before ImageResult decodes anything.
        CheckSize(header.Width, header.Height, maxPixels);

        bool gray = header.ColorComponents is ColorComponents.Grey or ColorComponents.GreyAlpha;
        ImageResult result;
        try { result = ImageResult.FromMemory(bytes, gray ? ColorComponents.Grey : ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageDecodeException($"corrupt or unsupported image: {e.Message}", e);
        }
        if (result?.Data is null) throw new ImageDecodeException("corrupt or unsupported image");
        int channels = gray ? 1 : 3;
        if (result.Width != header.Width || result.Height != header.Height || result.Data.Length != (long)result.Width * result.Height * channels)
            throw new ImageDecodeException($"the decoder returned {result.Width}x{result.Height} ({result.Data.Length} bytes) for an image declared {header.Width}x{header.Height}");
        return new RawImage(result.Width, result.Height, channels, result.Data);
    }

    private static void CheckSize(int width, int height, long maxPixels)
    {
        try { RawImage.Validate(width, height, maxPixels); }
        catch (ArgumentException e) { throw new ImageDecodeException(e.Message, e); }
    }

    /// <summary>
    /// Walks a JPEG's marker segments up to the start of the image data: every segment must fit in the file and a
    /// frame header must come before the scan. stb_image loops forever on some truncated headers (a fuzz test found
    /// a 17-byte file cut inside its APP0 segment), so such files are refused before it sees them.
    /// </summary>
    private static void CheckJpegStructure(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 2 || bytes[0] != 0xFF || bytes[1] != 0xD8) return; // not a JPEG
        bool frame = false;
        int position = 2;
        while (true)
        {
            if (position >= bytes.Length || bytes[position] != 0xFF)
                throw new ImageDecodeException($"corrupt JPEG: no marker at byte {position} (truncated or damaged before the image data)");
            while (position < bytes.Length && bytes[position] == 0xFF) position++; // fill bytes
            if (position >= bytes.Length) throw new ImageDecodeException("corrupt JPEG: the file ends before the image data");
            byte marker = bytes[position++];
            if (marker is >= 0xD0 and <= 0xD7 or 0x01) continue; // RSTn, TEM: no length
            if (marker is 0xD8 or 0xD9 or 0x00)
                throw new ImageDecodeException($"corrupt JPEG: marker FF{marker:X2} at byte {position - 1} before the image data");
            if (position + 2 > bytes.Length) throw new ImageDecodeException("corrupt JPEG: the file ends inside a segment header");
            int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[position..]);
            if (length < 2 || position + length > bytes.Length)
                throw new ImageDecodeException($"corrupt JPEG: segment FF{marker:X2} at byte {position - 2} declares {length} bytes, past the end of the {bytes.Length}-byte file (truncated?)");
            if (marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC)) frame = true;
            if (marker == 0xDA)
            {
                if (!frame) throw new ImageDecodeException("corrupt JPEG: image data before the frame header");
                return;
            }
            position += length;
        }
    }

    private static (int Width, int Height)? DeclaredSize(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= 24 && bytes[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]) && bytes[12..16].SequenceEqual("IHDR"u8))
            return (BinaryPrimitives.ReadInt32BigEndian(bytes[16..]), BinaryPrimitives.ReadInt32BigEndian(bytes[20..]));
        if (bytes.Length >= 26 && bytes[0] == 'B' && bytes[1] == 'M' && BinaryPrimitives.ReadInt32LittleEndian(bytes[14..]) >= 40)
        {
            int height = BinaryPrimitives.ReadInt32LittleEndian(bytes[22..]); // negative: rows stored top-down
            return (BinaryPrimitives.ReadInt32LittleEndian(bytes[18..]), height == int.MinValue ? int.MaxValue : Math.Abs(height));
        }
        if (bytes.Length >= 10 && (bytes[..6].SequenceEqual("GIF87a"u8) || bytes[..6].SequenceEqual("GIF89a"u8)))
            return (BinaryPrimitives.ReadUInt16LittleEndian(bytes[6..]), BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]));
        return null;
    }
}

/// <summary>An image that cannot be decoded; the message is one line saying why.</summary>
internal sealed class ImageDecodeException(string message, Exception? inner = null) : Exception(message, inner);
