using System.Collections.Concurrent;

namespace MobileViT.Compiled.IO;

/// <summary>
/// Checks embedded weights against the SHA-256 recorded at build time, once per resource and process, so a
/// damaged binary fails loudly instead of answering wrongly. The hash is the managed <see cref="Sha256"/> (no OpenSSL);
/// it reads the whole resource, so it stays behind this one method for a cheaper check to replace.
/// </summary>
public static class WeightIntegrity
{
    private static readonly ConcurrentDictionary<string, bool> s_verified = new(StringComparer.Ordinal);

    public static void Verify(Stream stream, string expectedSha256, string source)
    {
        if (expectedSha256.Length == 0 || s_verified.ContainsKey(source)) return;
        stream.Position = 0;
        string actual = Convert.ToHexStringLower(Sha256.HashData(stream));
        stream.Position = 0;
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelLoadException(source, null, $"the embedded weights are damaged: SHA-256 {actual}, but {expectedSha256} was recorded at build time");
        s_verified[source] = true;
    }
}
