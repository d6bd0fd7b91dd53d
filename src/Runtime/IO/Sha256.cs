using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;

namespace MobileViT.Compiled.IO;

/// <summary>
/// SHA-256 (FIPS 180-4) in managed code. System.Security.Cryptography binds to OpenSSL at run time on Linux, so a
/// NativeAOT binary that used it aborts on a system without libssl; this needs nothing but the .NET base library.
/// Create hashes nothing (the prepared weights' header is checked in O(1)); a prepared cache's source is stamped with
/// the hash of a few sampled blocks (PreparedWeightsFormat.Sample).
/// </summary>
internal static class Sha256
{
    public const int HashBytes = 32;
    private const int BlockBytes = 64;

    /// <summary>The hash of the stream from its current position to its end, read in chunks (never all at once).</summary>
    public static byte[] HashData(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var state = State.Initial();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long length = 0;
            int filled = 0; // bytes in buffer not yet hashed; fewer than one block between reads
            int read;
            while ((read = stream.Read(buffer, filled, buffer.Length - filled)) > 0)
            {
                length += read;
                filled += read;
                int whole = filled - filled % BlockBytes;
                state.Compress(buffer.AsSpan(0, whole));
                buffer.AsSpan(whole, filled - whole).CopyTo(buffer);
                filled -= whole;
            }
            return state.Finish(buffer.AsSpan(0, filled), length);
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    public static byte[] HashData(ReadOnlySpan<byte> data)
    {
        var state = State.Initial();
        int whole = data.Length - data.Length % BlockBytes;
        state.Compress(data[..whole]);
        return state.Finish(data[whole..], data.Length);
    }

    private struct State
    {
        private uint _a, _b, _c, _d, _e, _f, _g, _h;

        public static State Initial() => new()
        {
            _a = 0x6a09e667, _b = 0xbb67ae85, _c = 0x3c6ef372, _d = 0xa54ff53a,
            _e = 0x510e527f, _f = 0x9b05688c, _g = 0x1f83d9ab, _h = 0x5be0cd19,
        };

        /// <summary>Pads the last partial block (fewer than 64 bytes) with 0x80, zeros and the length in bits; returns the digest.</summary>
        public byte[] Finish(ReadOnlySpan<byte> tail, long totalBytes)
        {
            Span<byte> last = stackalloc byte[2 * BlockBytes];
            last.Clear();
            tail.CopyTo(last);
            last[tail.Length] = 0x80;
            int padded = tail.Length + 1 + 8 <= BlockBytes ? BlockBytes : 2 * BlockBytes;
            BinaryPrimitives.WriteUInt64BigEndian(last[(padded - 8)..], (ulong)totalBytes * 8);
            Compress(last[..padded]);

            var digest = new byte[HashBytes];
            ReadOnlySpan<uint> words = [_a, _b, _c, _d, _e, _f, _g, _h];
            for (int i = 0; i < words.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(4 * i), words[i]);
            return digest;
        }

        /// <summary>Runs the compression function over whole 64-byte blocks.</summary>
        public void Compress(ReadOnlySpan<byte> blocks)
        {
            Span<uint> w = stackalloc uint[64];
            ReadOnlySpan<uint> k = RoundConstants;
            for (int offset = 0; offset < blocks.Length; offset += BlockBytes)
            {
                for (int t = 0; t < 16; t++) w[t] = BinaryPrimitives.ReadUInt32BigEndian(blocks[(offset + 4 * t)..]);
                for (int t = 16; t < 64; t++)
                {
                    uint w15 = w[t - 15], w2 = w[t - 2];
                    uint s0 = BitOperations.RotateRight(w15, 7) ^ BitOperations.RotateRight(w15, 18) ^ (w15 >> 3);
                    uint s1 = BitOperations.RotateRight(w2, 17) ^ BitOperations.RotateRight(w2, 19) ^ (w2 >> 10);
                    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
                }
                uint a = _a, b = _b, c = _c, d = _d, e = _e, f = _f, g = _g, h = _h;
                for (int t = 0; t < 64; t++)
                {
                    uint sum1 = BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25);
                    uint choose = (e & f) ^ (~e & g);
                    uint t1 = h + sum1 + choose + k[t] + w[t];
                    uint sum0 = BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22);
                    uint majority = (a & b) ^ (a & c) ^ (b & c);
                    uint t2 = sum0 + majority;
                    h = g; g = f; f = e; e = d + t1;
                    d = c; c = b; b = a; a = t1 + t2;
                }
                _a += a; _b += b; _c += c; _d += d; _e += e; _f += f; _g += g; _h += h;
            }
        }
    }

    // The first 32 bits of the fractional parts of the cube roots of the first 64 primes (FIPS 180-4, 4.2.2).
    private static ReadOnlySpan<uint> RoundConstants =>
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
}
