using System.Text;
using MobileViT.Compiled.IO;
using BclSha256 = System.Security.Cryptography.SHA256;

namespace MobileViT.Compiled.Tests.IO;

/// <summary>The managed SHA-256 against FIPS 180-4's test vectors and against the platform's (OpenSSL under the JIT).</summary>
public class Sha256Tests
{
    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void KnownVectors(string message, string expected)
    {
        var bytes = Encoding.ASCII.GetBytes(message);
        Assert.Equal(expected, Convert.ToHexStringLower(Sha256.HashData(bytes)));
        Assert.Equal(expected, Convert.ToHexStringLower(Sha256.HashData(new MemoryStream(bytes))));
    }

    [Fact]
    public void OneMillionAs()
    {
        var bytes = new byte[1_000_000];
        bytes.AsSpan().Fill((byte)'a');
        const string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
        Assert.Equal(expected, Convert.ToHexStringLower(Sha256.HashData(bytes)));
        Assert.Equal(expected, Convert.ToHexStringLower(Sha256.HashData(new TrickleStream(bytes, new Random(1)))));
    }

    /// <summary>
    /// Every length from 0 to 300 (all padding cases: tails of 0-63 bytes, with one or two padding blocks) and longer
    /// ones around the 64 KiB read buffer, as a span and through a stream that returns short reads of random sizes.
    /// </summary>
    [Fact]
    public void MatchesThePlatformOnRandomDataOfManyLengths()
    {
        var random = new Random(15);
        var lengths = Enumerable.Range(0, 301).Concat([1000, 4095, 65535, 65536, 65537, 65536 + 63, 131_072 + 55, 1_000_003]);
        foreach (int length in lengths)
        {
            var data = new byte[length];
            random.NextBytes(data);
            var expected = BclSha256.HashData(data);
            Assert.True(expected.AsSpan().SequenceEqual(Sha256.HashData(data)), $"span of {length} bytes");
            Assert.True(expected.AsSpan().SequenceEqual(Sha256.HashData(new MemoryStream(data))), $"stream of {length} bytes");
            Assert.True(expected.AsSpan().SequenceEqual(Sha256.HashData(new TrickleStream(data, random))), $"short reads of {length} bytes");
        }
    }

    [Fact]
    public void StreamIsHashedFromItsCurrentPosition()
    {
        var data = Encoding.ASCII.GetBytes("skip this|abc");
        var stream = new MemoryStream(data) { Position = 10 };
        Assert.Equal(BclSha256.HashData("abc"u8), Sha256.HashData(stream));
    }

    /// <summary>A stream handing out 1 to 200 bytes per read, as a network or decompressing stream may.</summary>
    private sealed class TrickleStream(byte[] data, Random random) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) =>
            base.Read(buffer, offset, Math.Min(count, random.Next(1, 201)));
    }
}
