using System.Runtime.InteropServices;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Linux memory advice for the model's big buffers, best effort (nothing happens elsewhere, on older kernels or
/// where libc cannot be found). A fresh process's first run paid for ~4,600 page faults of the activation arena and
/// the weights' pages: half of mobilevit-small's first run on a VM measured 11 us per fault. So:
/// the arena asks for transparent huge pages (2 MB pages: 8 faults instead of 4,000, where the system enables them
/// on request) and is populated in one call; the weights' pages are mapped in one call instead of one fault per 64 KB.
/// </summary>
internal static unsafe class PageAdvice
{
    public const int HugePage = 2 * 1024 * 1024;
    private const int HugePageAdvice = 14;   // MADV_HUGEPAGE
    private const int PopulateRead = 22;     // MADV_POPULATE_READ (Linux 5.14)
    private const int PopulateWrite = 23;    // MADV_POPULATE_WRITE (Linux 5.14)
    private const int PageSize = 4096;

    private static readonly delegate* unmanaged<void*, nuint, int, int> s_madvise = Find();

    /// <summary>Anonymous memory about to be written: huge pages where available, page tables filled now.</summary>
    public static void PrepareForWriting(void* start, nuint length)
    {
        if (!Page(ref start, ref length)) return;
        if (length >= HugePage) s_madvise(start, length, HugePageAdvice);
        s_madvise(start, length, PopulateWrite);
    }

    /// <summary>File-backed memory about to be read (mapped weights): its page tables filled now, in one call.</summary>
    public static void PrepareForReading(void* start, nuint length)
    {
        if (Page(ref start, ref length)) s_madvise(start, length, PopulateRead);
    }

    /// <summary>The whole pages inside [start, start + length), or false when there are none or no madvise.</summary>
    private static bool Page(ref void* start, ref nuint length)
    {
        if (s_madvise == null) return false;
        nuint begin = ((nuint)start + PageSize - 1) & ~(nuint)(PageSize - 1);
        nuint end = ((nuint)start + length) & ~(nuint)(PageSize - 1);
        if (end <= begin) return false;
        start = (void*)begin;
        length = end - begin;
        return true;
    }

    private static delegate* unmanaged<void*, nuint, int, int> Find()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsAndroid()) return null;
        foreach (string name in new[] { "libc.so.6", "libc.so" })
            if (NativeLibrary.TryLoad(name, out nint library) && NativeLibrary.TryGetExport(library, "madvise", out nint madvise))
                return (delegate* unmanaged<void*, nuint, int, int>)madvise;
        return null;
    }
}
