using System.IO.MemoryMappedFiles;
using System.Reflection;
using System.Runtime.InteropServices;

namespace MobileViT.Compiled.IO;

/// <summary>
/// A model's prepared weights (<see cref="PreparedWeightsFormat"/>), read in place wherever they lie: in the
/// assembly's embedded resource (the binary's read-only pages, shared between processes), in a mapped prepared file,
/// or, for weights prepared at run time from a safetensors file, in one native block.
/// </summary>
public sealed unsafe class PreparedWeights : IDisposable
{
    private byte* _data;
    private readonly (long Offset, int Count)[] _table;
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly bool _ownsNative;
    private bool _copied;

    private PreparedWeights(byte* data, long length, CompiledWeights weights, string source,
        MemoryMappedFile? file = null, MemoryMappedViewAccessor? view = null, bool ownsNative = false)
    {
        _data = data;
        _file = file;
        _view = view;
        _ownsNative = ownsNative;
        Source = source;
        Length = length;
        try
        {
            _table = PreparedWeightsFormat.Validate(new ReadOnlySpan<byte>(data, (int)Math.Min(length, int.MaxValue)), length,
                weights.Fingerprint, weights.EntryCount, source);
        }
        catch
        {
            Dispose();
            throw;
        }
        if (!ownsNative) Kernels.PageAdvice.PrepareForReading(data, (nuint)length);
    }

    ~PreparedWeights() => Release();

    /// <summary>Where the weights are read from: a resource name or a path.</summary>
    public string Source { get; }

    /// <summary>Bytes of the prepared form.</summary>
    public long Length { get; }

    /// <summary>How the bytes are held ("embedded resource (in place)", "mapped file", "prepared in memory" or
    /// "embedded resource (copied)") and how many.</summary>
    public string Residence => (_file is not null ? "mapped file" : !_ownsNative ? "embedded resource (in place)"
        : _copied ? "embedded resource (copied)" : "prepared in memory") + $", {Length / 1e6:0.0} MB" +
        ((nint)_data % 64 == 0 ? "" : $", {(nint)_data % 64} bytes past a cache line");

    /// <summary>Entry <paramref name="index"/> in recipe order.</summary>
    public WeightView this[int index]
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null, this);
            var (offset, count) = _table[index];
            return new WeightView((float*)(_data + offset), count);
        }
    }

    /// <summary>The weights the build prepared and embedded in <paramref name="assembly"/>: checked in O(1), no copy.</summary>
    /// <exception cref="ModelLoadException">The resource is missing, or was prepared for another architecture or weights file.</exception>
    public static PreparedWeights FromResource(Assembly assembly, string resourceName, CompiledWeights weights)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)
            ?? throw new ModelLoadException(resourceName, null, "the embedded weights resource is missing from the assembly");
        PreparedWeights prepared;
        if (stream is UnmanagedMemoryStream image && (AllowsUnalignedFloats || (nint)image.PositionPointer % sizeof(float) == 0))
            // The resource's bytes in the loaded image (NativeAOT: the binary's read-only data): read them there.
            prepared = new PreparedWeights(image.PositionPointer, image.Length, weights, resourceName);
        else
            prepared = Copy(stream, weights, resourceName);
        prepared.CheckSource(weights);
        return prepared;
    }

    /// <summary>
    /// NativeAOT concatenates resources without padding, so embedded weights start at any byte address. x64 and ARM64
    /// load floats and vectors from any address (the kernels use unaligned loads), so they read them there anyway;
    /// other CPUs get an aligned copy.
    /// </summary>
    private static bool AllowsUnalignedFloats
        => RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>
    /// Weights from a file: prepared MobileViT weights (as <see cref="Prepare"/> writes) are mapped in place; a
    /// safetensors file is mapped, validated and prepared. With <paramref name="preparedCachePath"/>, a safetensors
    /// file is prepared once: the prepared form is written there, and later calls map it as long as the safetensors
    /// file keeps its length, last-write time and sampled content (PreparedWeightsFormat.Sample).
    /// </summary>
    /// <exception cref="ModelLoadException">A file is unreadable, corrupt, or holds another architecture's weights.</exception>
    public static PreparedWeights Load(string path, CompiledWeights weights, string? preparedCachePath = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (IsPrepared(path)) return Map(path, weights);
        if (preparedCachePath is not null)
        {
            if (string.Equals(Path.GetFullPath(preparedCachePath), Path.GetFullPath(path), StringComparison.Ordinal))
                throw new ArgumentException("the prepared cache must be another file than the safetensors file it caches", nameof(preparedCachePath));
            var cached = TryMapCache(preparedCachePath, path, weights);
            if (cached is not null) return cached;
            Prepare(path, preparedCachePath, weights);
            return Map(preparedCachePath, weights);
        }
        using var source = MappedSafetensors.Open(path, weights.ExpectedTensors);
        var entries = WeightPreparer.Prepare(weights.Recipe, source);
        long length = PreparedWeightsFormat.Length(entries);
        byte* block = (byte*)NativeMemory.AlignedAlloc((nuint)length, 64);
        PreparedWeightsFormat.Write(new Span<byte>(block, checked((int)length)), entries, weights.Fingerprint, new(source.Length, source.LastWriteTicks, null));
        return new PreparedWeights(block, length, weights, path, ownsNative: true);
    }

    private static int s_temporaryFiles;

    /// <summary>Prepares a safetensors file's weights and writes the prepared form to <paramref name="preparedPath"/> (atomically).</summary>
    public static void Prepare(string safetensorsPath, string preparedPath, CompiledWeights weights, byte[]? sourceSha256 = null)
    {
        ArgumentNullException.ThrowIfNull(preparedPath);
        using var source = MappedSafetensors.Open(safetensorsPath, weights.ExpectedTensors);
        var entries = WeightPreparer.Prepare(weights.Recipe, source);
        var blob = new byte[PreparedWeightsFormat.Length(entries)];
        PreparedWeightsFormat.Write(blob, entries, weights.Fingerprint,
            new(source.Length, source.LastWriteTicks, sourceSha256, PreparedWeightsFormat.Sample(safetensorsPath)));
        // One temporary file per call, not per process: threads preparing the same path at once (instances created in
        // parallel with one cache path) must not write into each other's file and publish it half-written.
        string temporary = preparedPath + "." + Environment.ProcessId + "." + Interlocked.Increment(ref s_temporaryFiles) + ".tmp";
        try
        {
            string? directory = Path.GetDirectoryName(Path.GetFullPath(preparedPath));
            if (directory is not null) Directory.CreateDirectory(directory);
            File.WriteAllBytes(temporary, blob);
            File.Move(temporary, preparedPath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new ModelLoadException(preparedPath, null, $"cannot write the prepared weights ({e.Message})", e);
        }
    }

    private static bool IsPrepared(string path)
    {
        Span<byte> prefix = stackalloc byte[8];
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            return stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) == 8 && PreparedWeightsFormat.HasMagic(prefix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelLoadException(path, null, $"cannot be opened ({e.Message})", e);
        }
    }

    private static PreparedWeights Map(string path, CompiledWeights weights)
    {
        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = stream.Length;
            if (length < PreparedWeightsFormat.HeaderLength)
                throw new ModelLoadException(path, null, $"is {length} bytes, shorter than the prepared weights header: truncated");
            file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            var prepared = new PreparedWeights(pointer + view.PointerOffset, length, weights, path, file, view);
            prepared.CheckEntryLengths(weights);
            return prepared;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            view?.Dispose();
            file?.Dispose();
            throw new ModelLoadException(path, null, $"cannot be mapped ({e.Message})", e);
        }
    }

    /// <summary>The cache when it was prepared for this architecture from the file as it is now; otherwise null.</summary>
    private static PreparedWeights? TryMapCache(string cachePath, string safetensorsPath, CompiledWeights weights)
    {
        if (!File.Exists(cachePath)) return null;
        PreparedWeights cached;
        try
        {
            cached = Map(cachePath, weights);
        }
        catch (ModelLoadException)
        {
            return null; // another version, architecture or a damaged file: prepare again
        }
        var recorded = PreparedWeightsFormat.ReadSource(new ReadOnlySpan<byte>(cached._data, PreparedWeightsFormat.HeaderLength));
        var current = new FileInfo(safetensorsPath);
        if (current.Exists && recorded.Length == current.Length && recorded.LastWriteTicks == current.LastWriteTimeUtc.Ticks
            && recorded.Sample.AsSpan().SequenceEqual(PreparedWeightsFormat.Sample(safetensorsPath)))
            return cached;
        cached.Dispose();
        return null;
    }

    private static PreparedWeights Copy(Stream stream, CompiledWeights weights, string source)
    {
        long length = stream.Length;
        byte* block = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, length), 64);
        try
        {
            stream.ReadExactly(new Span<byte>(block, checked((int)length)));
        }
        catch
        {
            NativeMemory.AlignedFree(block);
            throw;
        }
        return new PreparedWeights(block, length, weights, source, ownsNative: true) { _copied = true };
    }

    /// <summary>
    /// A file's entries must have the lengths the compiled model reads: the header check alone accepts a file whose
    /// fingerprint and entry count are right but an entry is shorter (the kernels would refuse it at Run, or read an
    /// empty bias as none) or longer. Files only: the embedded weights were written by the build from the same recipe.
    /// </summary>
    private void CheckEntryLengths(CompiledWeights weights)
    {
        var expected = weights.EntryLengths;
        for (int i = 0; i < _table.Length; i++)
        {
            if (_table[i].Count != expected[i])
            {
                Dispose();
                throw new ModelLoadException(Source, null, $"entry {i} holds {_table[i].Count} floats; the compiled model reads {expected[i]}: damaged");
            }
        }
    }

    /// <summary>Embedded weights record the SHA-256 of the safetensors file the build prepared them from.</summary>
    private void CheckSource(CompiledWeights weights)
    {
        var recorded = PreparedWeightsFormat.ReadSource(new ReadOnlySpan<byte>(_data, PreparedWeightsFormat.HeaderLength));
        string sha = Convert.ToHexStringLower(recorded.Sha256!);
        if (weights.SourceSha256.Length > 0 && !string.Equals(sha, weights.SourceSha256, StringComparison.OrdinalIgnoreCase))
        {
            Dispose();
            throw new ModelLoadException(Source, null, $"the embedded weights were prepared from another weights file (SHA-256 {sha}; the class was compiled against {weights.SourceSha256}): rebuild");
        }
    }

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        if (_data == null) return;
        if (_ownsNative) NativeMemory.AlignedFree(_data);
        _data = null;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _file?.Dispose();
    }
}
