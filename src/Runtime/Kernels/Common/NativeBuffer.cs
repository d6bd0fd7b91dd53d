using System.Runtime.InteropServices;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// A model's activation arena or kernel scratch in native memory, its floats starting on a 64-byte cache line.
/// Native, not a managed array: the buffers are megabytes that live as long as the model, so on the managed heap they
/// were large-object-heap allocations the GC had to account for (a published mobilevit-small allocated 16 MB in
/// Create). Zeroed by the allocator (calloc); on Linux backed by huge pages where the system allows and populated at
/// once (<see cref="PageAdvice"/>), not by one page fault per 4 KB in the first run.
/// Freed by <see cref="Dispose"/> or, if the owner is never disposed, by the finalizer.
/// </summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    private const int Alignment = 64;
    private void* _allocation;
    private readonly float* _aligned;

    public NativeBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        nuint bytes = (nuint)length * sizeof(float);
        // Buffers of megabytes start on a huge-page boundary, so PageAdvice can back them with 2 MB pages.
        nuint alignment = bytes >= PageAdvice.HugePage ? (nuint)PageAdvice.HugePage : Alignment;
        _allocation = NativeMemory.AllocZeroed(bytes + alignment);
        _aligned = (float*)(((nuint)_allocation + alignment - 1) & ~(alignment - 1));
        PageAdvice.PrepareForWriting(_aligned, bytes);
    }

    ~NativeBuffer() => Free();

    public int Length { get; }

    /// <summary>The buffer's floats; the owner must not use it after <see cref="Dispose"/>.</summary>
    public Span<float> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_allocation == null, this);
            return new Span<float>(_aligned, Length);
        }
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_allocation == null) return;
        NativeMemory.Free(_allocation);
        _allocation = null;
    }
}
