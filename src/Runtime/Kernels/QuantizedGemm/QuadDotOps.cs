using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// The int8 GEMM's instruction paths. Each is one <see cref="IQuadDot{TV}"/> struct; every one computes the same exact
/// int32 dot products (see <see cref="QuantizedGemm"/> for why), so tests compare them bit for bit.
/// </summary>
internal enum QuantizedGemmPath
{
    /// <summary>Plain int arithmetic, one pixel at a time.</summary>
    Scalar,
    /// <summary>Portable Vector128&lt;int&gt;: the 4 bytes of each lane split by shifts, 32-bit multiplies (any SIMD machine, e.g. ARM64 without the dot-product extension).</summary>
    Portable128,
    /// <summary>SSSE3 pmaddubsw (u8 x s8 pairs, int16; on |w| and q - 127 with w's sign) then SSE2 pmaddwd with ones (int32).</summary>
    Ssse3,
    /// <summary>ARM64 SDOT (AdvSimd.Dp.DotProduct, s8 x s8 quadruplets into int32; on q - 127).</summary>
    ArmDot,
    /// <summary>AVX-VNNI vpdpbusd on 128 bits.</summary>
    AvxVnni128,
    /// <summary>AVX2 vpmaddubsw (on |w| and q - 127 with w's sign, vpsignb) then vpmaddwd with ones.</summary>
    Avx2,
    /// <summary>AVX-VNNI vpdpbusd on 256 bits (u8 x s8 quadruplets into int32, one instruction).</summary>
    AvxVnni256,
    /// <summary>AVX-512BW vpmaddubsw (as AVX2, the sign by a masked negation) then vpmaddwd with ones on 512 bits (.NET 10 exposes no 512-bit vpdpbusd).</summary>
    Avx512BW,
}

/// <summary>
/// One vector of int32 accumulators, one lane per pixel: <see cref="Dot"/> adds to each lane the dot product of the
/// lane's 4 activation bytes (as <see cref="Load"/> reads them) with the 4 weight bytes of one output row (signed).
/// </summary>
internal unsafe interface IQuadDot<TV> where TV : struct
{
    static abstract QuantizedGemmPath Path { get; }
    /// <summary>Pixels (int32 lanes) per vector.</summary>
    static abstract int Lanes { get; }
    /// <summary>Rows of the register tile (4, or 8 with 32 vector registers).</summary>
    static abstract int Rows { get; }
    /// <summary>Vectors of pixels in the register tile (1 to 3).</summary>
    static abstract int Vectors { get; }
    static abstract bool IsSupported { get; }
    static abstract TV Zero { get; }
    /// <summary>
    /// What <see cref="Load"/> subtracts from each activation byte q (0..254): 0 where the instruction multiplies
    /// unsigned bytes (vpdpbusd, the plain paths), 127 where it needs signed ones (SDOT; pmaddubsw through the sign
    /// trick), so q - 127 is in [-127, 127]. The GEMM adds Offset x rowSum back in its zero-point correction.
    /// </summary>
    static abstract int Offset { get; }
    /// <summary>Lanes x 4 activation bytes, each minus <see cref="Offset"/>.</summary>
    static abstract TV Load(byte* p);
    /// <summary>One row's 4 weight bytes in every lane.</summary>
    static abstract TV Broadcast(byte* w);
    static abstract TV Dot(TV acc, TV activations, TV weights);
    /// <summary>c[i] = the <see cref="RowEpilogue"/> of x[i] with pixel i's zero point zp[i] and scale sA[i] (+ res[i]), a whole vector, res null for none.</summary>
    static abstract void StoreFull<TAct>(TV x, RowEpilogue row, int* zp, float* sA, float* c, float* res) where TAct : struct, IActivation;
    static abstract void Park(TV x, int* p);
    static abstract TV Unpark(int* p);
    /// <summary>The same for i &lt; cols; raw: c[i] = the bits of x[i] - row.OffsetCorrection (the exact sum of q x w).</summary>
    static abstract void Store<TAct>(TV x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw) where TAct : struct, IActivation;
}

/// <summary>The epilogue of one vector of accumulators, shared by the paths of one width.</summary>
internal static unsafe class QuadStore
{
    /// <summary>act((float)(x - (zp * Sum + OffsetCorrection)) * (sA * Scale) + Bias), the reference's operations in its order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Epilogue128<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA) where TAct : struct, IActivation
        => TAct.Invoke(Vector128.ConvertToSingle(x - (Vector128.Load(zp) * Vector128.Create(row.Sum) + Vector128.Create(row.OffsetCorrection)))
            * (Vector128.Load(sA) * Vector128.Create(row.Scale)) + Vector128.Create(row.Bias));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store128<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
    {
        Vector128<float> y = raw ? (x - Vector128.Create(row.OffsetCorrection)).AsSingle() : Epilogue128<TAct>(x, row, zp, sA);
        if (cols == Vector128<int>.Count)
        {
            if (res != null && !raw) y += Vector128.Load(res);
            y.Store(c);
            return;
        }
        float* tile = stackalloc float[Vector128<int>.Count];
        y.Store(tile);
        Tail(tile, c, res, cols, raw);
    }

    /// <summary>act((float)(x - (zp * Sum + OffsetCorrection)) * (sA * Scale) + Bias), the reference's operations in its order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Epilogue256<TAct>(Vector256<int> x, RowEpilogue row, int* zp, float* sA) where TAct : struct, IActivation
        => TAct.Invoke(Vector256.ConvertToSingle(x - (Vector256.Load(zp) * Vector256.Create(row.Sum) + Vector256.Create(row.OffsetCorrection)))
            * (Vector256.Load(sA) * Vector256.Create(row.Scale)) + Vector256.Create(row.Bias));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store256<TAct>(Vector256<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
    {
        Vector256<float> y = raw ? (x - Vector256.Create(row.OffsetCorrection)).AsSingle() : Epilogue256<TAct>(x, row, zp, sA);
        if (cols == Vector256<int>.Count)
        {
            if (res != null && !raw) y += Vector256.Load(res);
            y.Store(c);
            return;
        }
        float* tile = stackalloc float[Vector256<int>.Count];
        y.Store(tile);
        Tail(tile, c, res, cols, raw);
    }

    /// <summary>act((float)(x - (zp * Sum + OffsetCorrection)) * (sA * Scale) + Bias), the reference's operations in its order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Epilogue512<TAct>(Vector512<int> x, RowEpilogue row, int* zp, float* sA) where TAct : struct, IActivation
        => TAct.Invoke(Vector512.ConvertToSingle(x - (Vector512.Load(zp) * Vector512.Create(row.Sum) + Vector512.Create(row.OffsetCorrection)))
            * (Vector512.Load(sA) * Vector512.Create(row.Scale)) + Vector512.Create(row.Bias));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store512<TAct>(Vector512<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
    {
        Vector512<float> y = raw ? (x - Vector512.Create(row.OffsetCorrection)).AsSingle() : Epilogue512<TAct>(x, row, zp, sA);
        if (cols == Vector512<int>.Count)
        {
            if (res != null && !raw) y += Vector512.Load(res);
            y.Store(c);
            return;
        }
        float* tile = stackalloc float[Vector512<int>.Count];
        y.Store(tile);
        Tail(tile, c, res, cols, raw);
    }

    /// <summary>The whole-vector epilogue: no calls, so it can run straight from the accumulator registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Full128<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res)
        where TAct : struct, IActivation
    {
        var y = Epilogue128<TAct>(x, row, zp, sA);
        if (res != null) y += Vector128.Load(res);
        y.Store(c);
    }

    /// <summary>The whole-vector epilogue: no calls, so it can run straight from the accumulator registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Full256<TAct>(Vector256<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res)
        where TAct : struct, IActivation
    {
        var y = Epilogue256<TAct>(x, row, zp, sA);
        if (res != null) y += Vector256.Load(res);
        y.Store(c);
    }

    /// <summary>The whole-vector epilogue: no calls, so it can run straight from the accumulator registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Full512<TAct>(Vector512<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res)
        where TAct : struct, IActivation
    {
        var y = Epilogue512<TAct>(x, row, zp, sA);
        if (res != null) y += Vector512.Load(res);
        y.Store(c);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tail(float* tile, float* c, float* res, int cols, bool raw)
    {
        if (res != null && !raw) for (int i = 0; i < cols; i++) c[i] = tile[i] + res[i];
        else for (int i = 0; i < cols; i++) c[i] = tile[i];
    }

    /// <summary>32 vector registers (x64 with AVX-512VL, ARM64): room for an 8-row tile.</summary>
    public static bool Wide => Avx512F.VL.IsSupported || AdvSimd.Arm64.IsSupported;
}

internal unsafe readonly struct QuadScalar : IQuadDot<int>
{
    public static QuantizedGemmPath Path => QuantizedGemmPath.Scalar;
    public static int Lanes => 1;
    public static int Rows => 4;
    public static int Vectors => 1;
    public static int Offset => 0;
    public static bool IsSupported => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreFull<TAct>(int x, RowEpilogue row, int* zp, float* sA, float* c, float* res)
        where TAct : struct, IActivation
    {
        float y = TAct.Invoke((float)(x - (*zp * row.Sum + row.OffsetCorrection)) * (*sA * row.Scale) + row.Bias);
        if (res != null) y += *res;
        *c = y;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Park(int x, int* p) => *p = x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static int Unpark(int* p) => *p;
    public static int Zero => 0;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static int Load(byte* p) => *(int*)p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static int Broadcast(byte* w) => *(int*)w;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(int acc, int a, int w)
        => acc + (a & 0xFF) * (sbyte)w + ((a >> 8) & 0xFF) * (sbyte)(w >> 8)
            + ((a >> 16) & 0xFF) * (sbyte)(w >> 16) + ((a >>> 24) & 0xFF) * (sbyte)(w >> 24);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TAct>(int x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
    {
        if (raw) { *(int*)c = x - row.OffsetCorrection; return; }
        StoreFull<TAct>(x, row, zp, sA, c, res);
    }
}

internal unsafe readonly struct QuadPortable128 : IQuadDot<Vector128<int>>
{
    public static QuantizedGemmPath Path => QuantizedGemmPath.Portable128;
    public static int Lanes => Vector128<int>.Count;
    public static int Rows => QuadStore.Wide ? 8 : 4;
    public static int Vectors => 2;
    public static int Offset => 0;
    public static bool IsSupported => Vector128.IsHardwareAccelerated;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreFull<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res) where TAct : struct, IActivation => QuadStore.Full128<TAct>(x, row, zp, sA, c, res);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Park(Vector128<int> x, int* p) => x.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Unpark(int* p) => Vector128.Load(p);
    public static Vector128<int> Zero => Vector128<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Load(byte* p) => Vector128.Load((int*)p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Broadcast(byte* w) => Vector128.Create(*(int*)w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot(Vector128<int> acc, Vector128<int> a, Vector128<int> w)
    {
        var mask = Vector128.Create(0xFF);
        acc += (a & mask) * ((w << 24) >> 24);
        acc += ((a >>> 8) & mask) * ((w << 16) >> 24);
        acc += ((a >>> 16) & mask) * ((w << 8) >> 24);
        acc += (a >>> 24) * (w >> 24);
        return acc;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
        => QuadStore.Store128<TAct>(x, row, zp, sA, c, res, cols, raw);
}

internal unsafe readonly struct QuadSsse3 : IQuadDot<Vector128<int>>
{
    public static QuantizedGemmPath Path => QuantizedGemmPath.Ssse3;
    public static int Lanes => Vector128<int>.Count;
    public static int Rows => QuadStore.Wide ? 8 : 4;
    public static int Vectors => 2;
    public static int Offset => 127;
    public static bool IsSupported => Ssse3.IsSupported;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreFull<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res) where TAct : struct, IActivation => QuadStore.Full128<TAct>(x, row, zp, sA, c, res);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Park(Vector128<int> x, int* p) => x.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Unpark(int* p) => Vector128.Load(p);
    public static Vector128<int> Zero => Vector128<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Load(byte* p) => (Vector128.Load(p) - Vector128.Create((byte)127)).AsInt32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Broadcast(byte* w) => Vector128.Create(*(int*)w);
    /// <summary>
    /// pmaddubsw (u8 x s8 pairs into int16) on |w| and a with w's sign: a in [-127, 127], so the sign never overflows,
    /// and each pair is at most 2 x 128 x 127 = 32512: never saturates, even at w = -128.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot(Vector128<int> acc, Vector128<int> a, Vector128<int> w)
        => acc + Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(Ssse3.Abs(w.AsSByte()), Ssse3.Sign(a.AsSByte(), w.AsSByte())), Vector128<short>.One);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
        => QuadStore.Store128<TAct>(x, row, zp, sA, c, res, cols, raw);
}

internal unsafe readonly struct QuadArmDot : IQuadDot<Vector128<int>>
{
    public static QuantizedGemmPath Path => QuantizedGemmPath.ArmDot;
    public static int Lanes => Vector128<int>.Count;
    public static int Rows => 8;
    public static int Vectors => 3;
    public static int Offset => 127;
    public static bool IsSupported => Dp.IsSupported;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreFull<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res) where TAct : struct, IActivation => QuadStore.Full128<TAct>(x, row, zp, sA, c, res);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Park(Vector128<int> x, int* p) => x.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Unpark(int* p) => Vector128.Load(p);
    public static Vector128<int> Zero => Vector128<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Load(byte* p) => (Vector128.Load(p) - Vector128.Create((byte)127)).AsInt32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Broadcast(byte* w) => Vector128.Create(*(int*)w);
    /// <summary>SDOT is s8 x s8: the activations come minus 127, in [-127, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot(Vector128<int> acc, Vector128<int> a, Vector128<int> w)
        => Dp.DotProduct(acc, a.AsSByte(), w.AsSByte());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
        => QuadStore.Store128<TAct>(x, row, zp, sA, c, res, cols, raw);
}

internal unsafe readonly struct QuadVnni128 : IQuadDot<Vector128<int>>
{
    public static QuantizedGemmPath Path => QuantizedGemmPath.AvxVnni128;
    public static int Lanes => Vector128<int>.Count;
    public static int Rows => QuadStore.Wide ? 8 : 4;
    /// <summary>
    /// 16 accumulators at most: the JIT gives AvxVnni's accumulator (its destination) only registers 0-15, and an 8 x 3
    /// tile moved the other 8 in and out of them around every vpdpbusd. 8 x 2 with 32 registers (sources may use
    /// 16-31), 4 x 3 with 16.
    /// </summary>
    public static int Vectors => QuadStore.Wide ? 2 : 3;
    public static int Offset => 0;
    public static bool IsSupported => AvxVnni.IsSupported;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreFull<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res) where TAct : struct, IActivation => QuadStore.Full128<TAct>(x, row, zp, sA, c, res);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Park(Vector128<int> x, int* p) => x.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Unpark(int* p) => Vector128.Load(p);
    public static Vector128<int> Zero => Vector128<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Load(byte* p) => Vector128.Load((int*)p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Broadcast(byte* w) => Vector128.Create(*(int*)w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot(Vector128<int> acc, Vector128<int> a, Vector128<int> w)
        => AvxVnni.MultiplyWideningAndAdd(acc, a.AsByte(), w.AsSByte());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TAct>(Vector128<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
        => QuadStore.Store128<TAct>(x, row, zp, sA, c, res, cols, raw);
}

internal unsafe readonly struct QuadAvx2 : IQuadDot<Vector256<int>>
{
    public static QuantizedGemmPath Path => QuantizedGemmPath.Avx2;
    public static int Lanes => Vector256<int>.Count;
    public static int Rows => QuadStore.Wide ? 8 : 4;
    public static int Vectors => QuadStore.Wide ? 3 : 2;
    public static int Offset => 127;
    public static bool IsSupported => Avx2.IsSupported;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreFull<TAct>(Vector256<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res) where TAct : struct, IActivation => QuadStore.Full256<TAct>(x, row, zp, sA, c, res);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Park(Vector256<int> x, int* p) => x.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Unpark(int* p) => Vector256.Load(p);
    public static Vector256<int> Zero => Vector256<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Load(byte* p) => (Vector256.Load(p) - Vector256.Create((byte)127)).AsInt32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Broadcast(byte* w) => Vector256.Create(*(int*)w);
    /// <summary>vpmaddubsw on |w| and a with w's sign (vpsignb), as <see cref="QuadSsse3.Dot"/>: never saturates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<int> a, Vector256<int> w)
        => acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(w.AsSByte()), Avx2.Sign(a.AsSByte(), w.AsSByte())), Vector256<short>.One);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TAct>(Vector256<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
        => QuadStore.Store256<TAct>(x, row, zp, sA, c, res, cols, raw);
}

internal unsafe readonly struct QuadVnni256 : IQuadDot<Vector256<int>>
{
    public static QuantizedGemmPath Path => QuantizedGemmPath.AvxVnni256;
    public static int Lanes => Vector256<int>.Count;
    public static int Rows => QuadStore.Wide ? 8 : 4;
    /// <summary>
    /// 16 accumulators at most: the JIT gives AvxVnni's accumulator (its destination) only registers 0-15, and an 8 x 3
    /// tile moved the other 8 in and out of them around every vpdpbusd. 8 x 2 with 32 registers (sources may use
    /// 16-31), 4 x 3 with 16.
    /// </summary>
    public static int Vectors => QuadStore.Wide ? 2 : 3;
    public static int Offset => 0;
    public static bool IsSupported => AvxVnni.IsSupported;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreFull<TAct>(Vector256<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res) where TAct : struct, IActivation => QuadStore.Full256<TAct>(x, row, zp, sA, c, res);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Park(Vector256<int> x, int* p) => x.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Unpark(int* p) => Vector256.Load(p);
    public static Vector256<int> Zero => Vector256<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Load(byte* p) => Vector256.Load((int*)p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Broadcast(byte* w) => Vector256.Create(*(int*)w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<int> a, Vector256<int> w)
        => AvxVnni.MultiplyWideningAndAdd(acc, a.AsByte(), w.AsSByte());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TAct>(Vector256<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
        => QuadStore.Store256<TAct>(x, row, zp, sA, c, res, cols, raw);
}

internal unsafe readonly struct QuadAvx512BW : IQuadDot<Vector512<int>>
{
    public static QuantizedGemmPath Path => QuantizedGemmPath.Avx512BW;
    public static int Lanes => Vector512<int>.Count;
    public static int Rows => 8;
    public static int Vectors => 2;
    public static int Offset => 127;
    public static bool IsSupported => Avx512BW.IsSupported;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreFull<TAct>(Vector512<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res) where TAct : struct, IActivation => QuadStore.Full512<TAct>(x, row, zp, sA, c, res);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Park(Vector512<int> x, int* p) => x.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<int> Unpark(int* p) => Vector512.Load(p);
    public static Vector512<int> Zero => Vector512<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<int> Load(byte* p) => (Vector512.Load(p) - Vector512.Create((byte)127)).AsInt32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<int> Broadcast(byte* w) => Vector512.Create(*(int*)w);
    /// <summary>
    /// vpmaddubsw on |w| and a with w's sign, as <see cref="QuadSsse3.Dot"/>; AVX-512 has no vpsignb, so the sign is a
    /// masked negation (where w is 0, |w| is 0 and the sign does not matter).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Dot(Vector512<int> acc, Vector512<int> a, Vector512<int> w)
    {
        var ws = w.AsSByte();
        var signed = Vector512.ConditionalSelect(Vector512.LessThan(ws, Vector512<sbyte>.Zero), -a.AsSByte(), a.AsSByte());
        return acc + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Avx512BW.Abs(ws), signed), Vector512<short>.One);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TAct>(Vector512<int> x, RowEpilogue row, int* zp, float* sA, float* c, float* res, int cols, bool raw)
        where TAct : struct, IActivation
        => QuadStore.Store512<TAct>(x, row, zp, sA, c, res, cols, raw);
}
