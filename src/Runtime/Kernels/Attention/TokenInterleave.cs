using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// dst[2i] = even[i], dst[2i + 1] = odd[i]: PatchAttention's fold of 2-wide patches, two token rows into one image row.
/// Vector512 and Vector256 need x86 permutes (no portable two-source shuffle); Vector128 is <see cref="Ops128.Interleave"/>
/// (zip1/zip2 on ARM64, unpcklps/unpckhps on x86), so NEON gets a vector path too.
/// </summary>
internal static unsafe class TokenInterleave
{
    /// <summary>The widest tier this machine runs the interleave on: the one selection, read by the kernel and by KernelInfo.</summary>
    public static Isa Best
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Avx512F.IsSupported ? Isa.Vector512 : Avx.IsSupported ? Isa.Vector256 :
            Vector128.IsHardwareAccelerated ? Isa.Vector128 : Isa.Scalar;
    }

    /// <summary>
    /// Interleaves whole vectors of i on tiers up to <paramref name="limit"/> (and <see cref="Best"/>), narrower
    /// vectors for what is left; returns how many i were done (the caller finishes the rest one float at a time).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Run(float* even, float* odd, float* dst, int count, Isa limit)
    {
        Isa tier = limit < Best ? limit : Best;
        int i = 0;
        if (tier >= Isa.Vector512)
        {
            var low = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            var high = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            for (; i + 16 <= count; i += 16)
            {
                var e = Vector512.Load(even + i);
                var o = Vector512.Load(odd + i);
                Avx512F.PermuteVar16x32x2(e, low, o).Store(dst + 2 * i);
                Avx512F.PermuteVar16x32x2(e, high, o).Store(dst + 2 * i + 16);
            }
        }
        if (tier >= Isa.Vector256)
            for (; i + 8 <= count; i += 8)
            {
                var e = Vector256.Load(even + i);
                var o = Vector256.Load(odd + i);
                var lo = Avx.UnpackLow(e, o);   // e0 o0 e1 o1 | e4 o4 e5 o5
                var hi = Avx.UnpackHigh(e, o);  // e2 o2 e3 o3 | e6 o6 e7 o7
                Avx.Permute2x128(lo, hi, 0x20).Store(dst + 2 * i);
                Avx.Permute2x128(lo, hi, 0x31).Store(dst + 2 * i + 8);
            }
        if (tier >= Isa.Vector128)
            for (; i + 4 <= count; i += 4)
                Ops128.Interleave(Vector128.Load(even + i), Vector128.Load(odd + i), dst + 2 * i);
        return i;
    }
}
