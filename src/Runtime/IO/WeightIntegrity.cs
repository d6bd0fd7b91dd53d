using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace MobileViT.Compiled.IO;

/// <summary>
/// Checks embedded weights against the SHA-256 recorded at build time, once per resource and process, so a
/// damaged binary fails loudly instead of answering wrongly.
/// </summary>
public static class WeightIntegrity
{
    private static readonly ConcurrentDictionary<string, bool> s_verified = new(StringComparer.Ordinal);

    public static void Verify(Stream stream, string expectedSha256, string source)
    {
        if (expectedSha256.Length == 0 || s_verified.ContainsKey(source)) return;
        stream.Position = 0;
        string actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        stream.Position = 0;
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelLoadException(source, null, $"the embedded weights are damaged: SHA-256 {actual}, but {expectedSha256} was recorded at build time");
        s_verified[source] = true;
    }
}
