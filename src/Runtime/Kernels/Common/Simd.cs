using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MobileViT.Compiled.Kernels;

/// <summary>The instruction-set path a kernel runs. Every kernel has one generic body instantiated per path.</summary>
internal enum Isa
{
    /// <summary>Plain floats (no SIMD).</summary>
    Scalar = 0,
    /// <summary>128-bit vectors (SSE / ARM64 NEON).</summary>
    Vector128 = 1,
    /// <summary>256-bit vectors (AVX2 + FMA).</summary>
    Vector256 = 2,
    /// <summary>512-bit vectors (AVX-512F).</summary>
    Vector512 = 3,
}

internal static class KernelIsa
{
    /// <summary>
    /// The widest accelerated path on this machine (what the public entry points use). Under NativeAOT the answer is
    /// fixed at compile time by the instruction-set baseline: publish with e.g. IlcInstructionSet=x86-64-v4 (or
    /// native) to get the Vector512 path.
    /// </summary>
    public static readonly Isa Best =
        Vector512.IsHardwareAccelerated ? Isa.Vector512 :
        Vector256.IsHardwareAccelerated ? Isa.Vector256 :
        Vector128.IsHardwareAccelerated ? Isa.Vector128 : Isa.Scalar;

    /// <summary>Floats per vector of a path.</summary>
    public static int Lanes(Isa isa) => isa switch
    {
        Isa.Vector512 => Vector512<float>.Count,
        Isa.Vector256 => Vector256<float>.Count,
        Isa.Vector128 => Vector128<float>.Count,
        _ => 1,
    };

    [ThreadStatic] private static float[]? s_buffer;

    /// <summary>
    /// A per-thread working buffer of at least <paramref name="length"/> floats for kernels that have no scratch
    /// argument (the GEMM's packed input panel), starting on a cache line. It is allocated on first use and only
    /// grows, so steady-state inference does not allocate. Contents are undefined; callers overwrite what they read.
    /// </summary>
    public static Span<float> ThreadBuffer(int length)
    {
        var buffer = s_buffer;
        if (buffer is null || buffer.Length < length + 16)
            s_buffer = buffer = AlignedBuffer.Allocate(Math.Max(length, 4096));
        return AlignedBuffer.Align(buffer, length);
    }

    /// <summary>
    /// <see cref="ThreadBuffer"/> as a pointer (the array is on the pinned object heap, so no <c>fixed</c> is needed):
    /// valid until the same thread asks for a longer buffer.
    /// </summary>
    public static unsafe float* ThreadPointer(int length)
        => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(ThreadBuffer(length)));
}

/// <summary>
/// The vector operations the kernels are written against: one generic kernel body, specialized by the JIT for
/// <see cref="Ops512"/>, <see cref="Ops256"/>, <see cref="Ops128"/> and <see cref="OpsScalar"/>
/// (static abstract calls on struct type arguments are resolved and inlined at compile time).
/// </summary>
internal unsafe interface IVecOps<TV> where TV : struct
{
    /// <summary>The path this is (what <c>KernelInfo</c> reports for a kernel body instantiated on it).</summary>
    static abstract Isa Tier { get; }
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }
    /// <summary>True when the target has 32 vector registers, so the GEMM can hold an 8 x 3-vector accumulator tile.</summary>
    static abstract bool Mr8 { get; }
    static abstract TV Zero { get; }
    static abstract TV Broadcast(float x);
    static abstract TV Load(float* p);
    static abstract void Store(float* p, TV v);
    /// <summary>a * b + c, fused when the hardware has FMA.</summary>
    static abstract TV Fma(TV a, TV b, TV c);
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    static abstract TV Max(TV a, TV b);
    /// <summary>2^x for x &lt;= 0 (<see cref="VectorMath.Exp2(Vector512{float})"/>).</summary>
    static abstract TV Exp2(TV x);
    static abstract TV Sqrt(TV x);
    static abstract TV Div(TV a, TV b);
    static abstract float Sum(TV v);
    static abstract float MaxAcross(TV v);
    static abstract TV Act<TAct>(TV x) where TAct : struct, IActivation;
    /// <summary>Splits 2 * Count floats at src into the even-indexed ones (to even) and the odd-indexed ones (to odd).</summary>
    static abstract void Deinterleave(float* src, float* even, float* odd);
    /// <summary>Stores even[i] at dst[2 i] and odd[i] at dst[2 i + 1] (2 * Count floats): Deinterleave's inverse.</summary>
    static abstract void Interleave(TV even, TV odd, float* dst);
}

internal unsafe readonly struct Ops512 : IVecOps<Vector512<float>>
{
    public static Isa Tier => Isa.Vector512;
    public static int Count => Vector512<float>.Count;
    public static bool Mr8 => true;
    public static Vector512<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector512<float>.Zero; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exp2(Vector512<float> x) => VectorMath.Exp2(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sqrt(Vector512<float> x) => Vector512.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector512<float> v)
    {
        var m = Vector256.Max(v.GetLower(), v.GetUpper());
        var n = Vector128.Max(m.GetLower(), m.GetUpper());
        return MathF.Max(MathF.Max(n[0], n[1]), MathF.Max(n[2], n[3]));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Act<TAct>(Vector512<float> x) where TAct : struct, IActivation => TAct.Invoke(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Deinterleave(float* src, float* even, float* odd)
    {
        var a = Vector512.Load(src).AsUInt64();
        var b = Vector512.Load(src + Vector512<float>.Count).AsUInt64();
        Vector512.Narrow(a, b).AsSingle().Store(even);
        Vector512.Narrow(a >>> 32, b >>> 32).AsSingle().Store(odd);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Interleave(Vector512<float> even, Vector512<float> odd, float* dst)
    {
        var (evenLow, evenHigh) = Vector512.Widen(even.AsUInt32());
        var (oddLow, oddHigh) = Vector512.Widen(odd.AsUInt32());
        (evenLow | (oddLow << 32)).AsSingle().Store(dst);
        (evenHigh | (oddHigh << 32)).AsSingle().Store(dst + Vector512<float>.Count);
    }
}

internal unsafe readonly struct Ops256 : IVecOps<Vector256<float>>
{
    public static Isa Tier => Isa.Vector256;
    public static int Count => Vector256<float>.Count;
    /// <summary>AVX-512VL gives 32 ymm registers; plain AVX2 has 16.</summary>
    public static bool Mr8 => Avx512F.VL.IsSupported;
    public static Vector256<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector256<float>.Zero; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Exp2(Vector256<float> x) => VectorMath.Exp2(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sqrt(Vector256<float> x) => Vector256.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector256<float> v)
    {
        var n = Vector128.Max(v.GetLower(), v.GetUpper());
        return MathF.Max(MathF.Max(n[0], n[1]), MathF.Max(n[2], n[3]));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Act<TAct>(Vector256<float> x) where TAct : struct, IActivation => TAct.Invoke(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Deinterleave(float* src, float* even, float* odd)
    {
        var a = Vector256.Load(src).AsUInt64();
        var b = Vector256.Load(src + Vector256<float>.Count).AsUInt64();
        Vector256.Narrow(a, b).AsSingle().Store(even);
        Vector256.Narrow(a >>> 32, b >>> 32).AsSingle().Store(odd);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Interleave(Vector256<float> even, Vector256<float> odd, float* dst)
    {
        var (evenLow, evenHigh) = Vector256.Widen(even.AsUInt32());
        var (oddLow, oddHigh) = Vector256.Widen(odd.AsUInt32());
        (evenLow | (oddLow << 32)).AsSingle().Store(dst);
        (evenHigh | (oddHigh << 32)).AsSingle().Store(dst + Vector256<float>.Count);
    }
}

/// <summary>How <see cref="Ops128"/> interleaves and de-interleaves pairs of vectors.</summary>
internal enum PairShuffle
{
    /// <summary>ARM64 zip1/zip2 and uzp1/uzp2.</summary>
    Zip,
    /// <summary>x86 unpcklps/unpckhps (de-interleaving stays the portable narrowing, shufps on x86).</summary>
    Unpack,
    /// <summary>Vector128.Widen/Narrow with shifts.</summary>
    Portable,
}

internal unsafe readonly struct Ops128 : IVecOps<Vector128<float>>
{
    /// <summary>The one selection of the pair shuffles (also read by <c>KernelInfo</c>).</summary>
    public static PairShuffle Pairs
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => AdvSimd.Arm64.IsSupported ? PairShuffle.Zip : Sse.IsSupported ? PairShuffle.Unpack : PairShuffle.Portable;
    }

    public static Isa Tier => Isa.Vector128;
    public static int Count => Vector128<float>.Count;
    /// <summary>ARM64 NEON and AVX-512VL have 32 vector registers; SSE has 16.</summary>
    public static bool Mr8 => AdvSimd.Arm64.IsSupported || Avx512F.VL.IsSupported;
    public static Vector128<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector128<float>.Zero; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector128<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Exp2(Vector128<float> x) => VectorMath.Exp2(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sqrt(Vector128<float> x) => Vector128.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Div(Vector128<float> a, Vector128<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> v) => Vector128.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> v) => MathF.Max(MathF.Max(v[0], v[1]), MathF.Max(v[2], v[3]));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Act<TAct>(Vector128<float> x) where TAct : struct, IActivation => TAct.Invoke(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Deinterleave(float* src, float* even, float* odd)
    {
        if (Pairs == PairShuffle.Zip)
        {
            // uzp1/uzp2: two instructions; the portable narrowing below is xtn/xtn2 twice plus two shifts on ARM64.
            var x = Vector128.Load(src);
            var y = Vector128.Load(src + Vector128<float>.Count);
            AdvSimd.Arm64.UnzipEven(x, y).Store(even);
            AdvSimd.Arm64.UnzipOdd(x, y).Store(odd);
            return;
        }
        var a = Vector128.Load(src).AsUInt64();
        var b = Vector128.Load(src + Vector128<float>.Count).AsUInt64();
        Vector128.Narrow(a, b).AsSingle().Store(even);
        Vector128.Narrow(a >>> 32, b >>> 32).AsSingle().Store(odd);
    }
    /// <summary>zip1/zip2 on ARM64, unpcklps/unpckhps on x86 (two instructions; the portable widening takes about eight).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Interleave(Vector128<float> even, Vector128<float> odd, float* dst)
    {
        if (Pairs == PairShuffle.Zip)
        {
            AdvSimd.Arm64.ZipLow(even, odd).Store(dst);
            AdvSimd.Arm64.ZipHigh(even, odd).Store(dst + Vector128<float>.Count);
            return;
        }
        if (Pairs == PairShuffle.Unpack)
        {
            Sse.UnpackLow(even, odd).Store(dst);
            Sse.UnpackHigh(even, odd).Store(dst + Vector128<float>.Count);
            return;
        }
        var (evenLow, evenHigh) = Vector128.Widen(even.AsUInt32());
        var (oddLow, oddHigh) = Vector128.Widen(odd.AsUInt32());
        (evenLow | (oddLow << 32)).AsSingle().Store(dst);
        (evenHigh | (oddHigh << 32)).AsSingle().Store(dst + Vector128<float>.Count);
    }
}

/// <summary>The no-SIMD path: a "vector" of one float.</summary>
internal unsafe readonly struct OpsScalar : IVecOps<float>
{
    public static Isa Tier => Isa.Scalar;
    public static int Count => 1;
    public static bool Mr8 => false;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Broadcast(float x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, float v) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Fma(float a, float b, float c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sub(float a, float b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Mul(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Max(float a, float b) => MathF.Max(a, b);
    /// <summary>2^x as e^(x ln2): float.Exp2 took 9.5 ns here, MathF.Exp 3.3 ns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Exp2(float x) => MathF.Exp(x * 0.6931472f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sqrt(float x) => MathF.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Div(float a, float b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(float v) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(float v) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Act<TAct>(float x) where TAct : struct, IActivation => TAct.Invoke(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Deinterleave(float* src, float* even, float* odd) { *even = src[0]; *odd = src[1]; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Interleave(float even, float odd, float* dst) { dst[0] = even; dst[1] = odd; }
}
