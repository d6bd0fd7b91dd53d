using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

/// <summary>The pair shuffles (PatchAttention's fold, Winograd's output rows, the stride-2 splits) against their reference twins.</summary>
public unsafe class ShuffleTests
{
    public static TheoryData<string> Isas => AllIsas;

    [Theory]
    [MemberData(nameof(Isas))]
    public void TokenInterleaveMatchesReferenceOnEachTier(string isaName)
    {
        var isa = Parse(isaName);
        var tier = isa < TokenInterleave.Best ? isa : TokenInterleave.Best;
        var rng = new Random(7);
        for (int count = 0; count <= 41; count++)
        {
            var even = Random(rng, count);
            var odd = Random(rng, count);
            var expected = new float[2 * count];
            ReferenceKernels.Interleave(even, odd, expected);
            var actual = new float[2 * count];
            int done;
            fixed (float* e = even, o = odd, d = actual) done = TokenInterleave.Run(e, o, d, count, isa);
            // Whole vectors of the narrowest tier are done; the caller's scalar loop does the rest.
            int expectedDone = tier == Isa.Scalar ? 0 : count / 4 * 4;
            Assert.Equal(expectedDone, done);
            for (int i = done; i < count; i++) { actual[2 * i] = even[i]; actual[2 * i + 1] = odd[i]; }
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Ops128PairsTakeTheMachinesTwoInstructionShuffles()
    {
        var expected = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.Arm64 => PairShuffle.Zip,
            Architecture.X64 or Architecture.X86 => PairShuffle.Unpack,
            _ => PairShuffle.Portable,
        };
        Assert.Equal(expected, Ops128.Pairs);
    }

    [Fact]
    public void Ops128InterleaveAndDeinterleaveMatchReference()
    {
        var rng = new Random(8);
        var even = Random(rng, 4);
        var odd = Random(rng, 4);
        var expected = new float[8];
        ReferenceKernels.Interleave(even, odd, expected);
        var pairs = new float[8];
        var (e2, o2) = (new float[4], new float[4]);
        var (eRef, oRef) = (new float[4], new float[4]);
        fixed (float* e = even, o = odd, p = pairs, pe = e2, po = o2)
        {
            Ops128.Interleave(Vector128.Load(e), Vector128.Load(o), p);
            Ops128.Deinterleave(p, pe, po);
        }
        Assert.Equal(expected, pairs);
        ReferenceKernels.Deinterleave(pairs, eRef, oRef);
        Assert.Equal(eRef, e2);
        Assert.Equal(oRef, o2);
    }
}
