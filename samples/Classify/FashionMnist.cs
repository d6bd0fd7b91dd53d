using System.Buffers.Binary;
using System.IO.Compression;

namespace MobileViT.Cli;

/// <summary>The Fashion-MNIST test set in IDX format (the repository's tests/fixtures/fashion-mnist, or the Debian package dataset-fashion-mnist).</summary>
internal sealed class FashionMnist
{
    /// <summary>Names a folder holding the test set; it comes before the copy next to the app.</summary>
    public const string EnvironmentVariable = "MOBILEVIT_FASHION_MNIST";

    /// <summary>Where the Debian package dataset-fashion-mnist puts the files.</summary>
    public const string DebianFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The repository's copy (tests/fixtures/fashion-mnist), which the build puts next to the app.</summary>
    public static string BundledFolder => Path.Combine(AppContext.BaseDirectory, "fashion-mnist");

    public const string ImagesFile = "t10k-images-idx3-ubyte";
    public const string LabelsFile = "t10k-labels-idx1-ubyte";
    private const int MaxCount = 1_000_000;
    private const int MaxSide = 1024;

    private FashionMnist(int count, int rows, int columns, byte[] pixels, byte[] labels)
    {
        Count = count;
        Rows = rows;
        Columns = columns;
        Pixels = pixels;
        Labels = labels;
    }

    public int Count { get; }
    public int Rows { get; }
    public int Columns { get; }

    /// <summary>Count images of Rows x Columns bytes, one after the other.</summary>
    public byte[] Pixels { get; }

    public byte[] Labels { get; }

    public ReadOnlySpan<byte> Image(int i) => Pixels.AsSpan(i * Rows * Columns, Rows * Columns);

    /// <summary>
    /// The folder eval-fashion reads without --data: $MOBILEVIT_FASHION_MNIST when set (an explicit choice, used even if
    /// it is wrong, so that a mistake is reported rather than silently replaced), else the copy next to the app when it
    /// is there (every build has it; a published single binary does not), else the Debian package's folder.
    /// </summary>
    public static string DefaultFolder()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } chosen) return chosen;
        return File.Exists(Path.Combine(BundledFolder, ImagesFile + ".gz")) ? BundledFolder : DebianFolder;
    }

    /// <summary>Reads the test set from a folder holding t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each optionally .gz.</summary>
    /// <exception cref="InvalidDataException">A file is missing, malformed, or the two disagree (the message says which).</exception>
    public static FashionMnist Load(string folder)
    {
        if (!Directory.Exists(folder))
            throw new InvalidDataException($"{folder}: no such folder (pass --data or set {EnvironmentVariable} to a folder holding {ImagesFile}.gz and {LabelsFile}.gz: the repository's tests/fixtures/fashion-mnist, or the Debian package dataset-fashion-mnist's {DebianFolder})");
        string images = Find(folder, ImagesFile), labels = Find(folder, LabelsFile);

        byte[] pixels;
        int count, rows, columns;
        using (var stream = Open(images))
        {
            var header = ReadHeader(stream, images, 0x00000803, 3);
            (count, rows, columns) = (header[0], header[1], header[2]);
            if (rows < 1 || rows > MaxSide || columns < 1 || columns > MaxSide)
                throw new InvalidDataException($"{images}: images of {rows}x{columns} pixels");
            pixels = ReadExactly(stream, images, (long)count * rows * columns);
        }
        byte[] labelBytes;
        using (var stream = Open(labels))
        {
            int labelCount = ReadHeader(stream, labels, 0x00000801, 1)[0];
            if (labelCount != count) throw new InvalidDataException($"{labels}: {labelCount} labels for {count} images in {images}");
            labelBytes = ReadExactly(stream, labels, count);
        }
        foreach (byte label in labelBytes)
            if (label > 9) throw new InvalidDataException($"{labels}: label {label} is not a Fashion-MNIST class (0-9)");
        return new FashionMnist(count, rows, columns, pixels, labelBytes);
    }

    private static string Find(string folder, string name)
    {
        foreach (string candidate in new[] { name + ".gz", name })
        {
            string path = Path.Combine(folder, candidate);
            if (File.Exists(path)) return path;
        }
        throw new InvalidDataException($"{folder}: neither {name}.gz nor {name} is there (the Fashion-MNIST test set in IDX format)");
    }

    private static Stream Open(string path)
    {
        Stream file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    private static int[] ReadHeader(Stream stream, string path, int magic, int dimensions)
    {
        var bytes = ReadExactly(stream, path, 4 + 4 * dimensions);
        int actual = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (actual != magic) throw new InvalidDataException($"{path}: IDX magic number 0x{actual:x8}, expected 0x{magic:x8}");
        var sizes = new int[dimensions];
        for (int i = 0; i < dimensions; i++)
            sizes[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i));
        if (sizes[0] < 1 || sizes[0] > MaxCount) throw new InvalidDataException($"{path}: {sizes[0]} items (at most {MaxCount})");
        return sizes;
    }

    private static byte[] ReadExactly(Stream stream, string path, long length)
    {
        var buffer = new byte[length];
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException) { throw new InvalidDataException($"{path}: the file ends before its {length} bytes"); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
        return buffer;
    }
}
