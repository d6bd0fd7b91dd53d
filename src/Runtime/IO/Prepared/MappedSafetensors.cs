using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace MobileViT.Compiled.IO;

/// <summary>
/// A safetensors file mapped into memory, its expected tensors validated as <see cref="WeightLoader"/> does: F32
/// tensors are read where they lie in the file's pages, F16/BF16 ones are widened once. Valid until disposed.
/// </summary>
public sealed unsafe class MappedSafetensors : ITensorSource, IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private bool _disposed;
    private readonly Dictionary<string, (IntPtr Data, int Count, float[]? Widened)> _tensors = new(StringComparer.Ordinal);

    private MappedSafetensors(string path, FileStream stream, IReadOnlyList<ExpectedTensor> expected)
    {
        Source = path;
        Length = stream.Length;
        if (Length < 8)
            throw new ModelLoadException(path, null, $"the file is {Length} bytes long, shorter than the 8-byte safetensors header length");
        LastWriteTicks = File.GetLastWriteTimeUtc(path).Ticks;
        _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
        try
        {
            using var header = new UnmanagedMemoryStream(_base, Length);
            var parsed = SafetensorsHeader.Read(header, path);
            foreach (var tensor in expected)
            {
                var entry = WeightLoader.Match(parsed, tensor, path);
                byte* data = _base + parsed.DataStart + entry.Begin;
                int count = checked((int)((entry.End - entry.Begin) / SafetensorsHeader.DTypeSize(entry.DType)));
                if (entry.DType == "F32" && BitConverter.IsLittleEndian && (nint)data % sizeof(float) == 0)
                    _tensors[tensor.Name] = ((IntPtr)data, count, null);
                else
                    _tensors[tensor.Name] = (IntPtr.Zero, count, Widen(entry.DType, new ReadOnlySpan<byte>(data, (int)(entry.End - entry.Begin)), count));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Source { get; }

    /// <summary>The file's length in bytes and last-write time (UTC ticks) when it was mapped.</summary>
    public long Length { get; }
    public long LastWriteTicks { get; }

    /// <summary>Maps <paramref name="path"/> and validates the tensors a compiled model needs.</summary>
    /// <exception cref="ModelLoadException">The file is unreadable, corrupt, or holds another architecture's weights.</exception>
    public static MappedSafetensors Open(string path, IReadOnlyList<ExpectedTensor> expected)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelLoadException(path, null, $"cannot be opened ({e.Message})", e);
        }
        try
        {
            return new MappedSafetensors(path, stream, expected);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            throw new ModelLoadException(path, null, $"cannot be mapped ({e.Message})", e);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public ReadOnlySpan<float> Get(string name)
        => _tensors.TryGetValue(name, out var t)
            ? t.Widened ?? new ReadOnlySpan<float>((void*)t.Data, t.Count)
            : throw new ModelLoadException(Source, name, "was not loaded: it is not in the compiled manifest");

    private static float[] Widen(string dtype, ReadOnlySpan<byte> raw, int count)
    {
        var result = new float[count];
        if (dtype == "F32")
        {
            raw.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
            WeightLoader.FromLittleEndian(result);
        }
        else WeightLoader.Widen(raw, result, dtype == "BF16");
        return result;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_base != null) _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _file?.Dispose();
    }
}
