using System.Buffers.Binary;
using System.Text.Json;

namespace MobileViT.Compiled.Package.Tests;

/// <summary>
/// A deliberately small, independent safetensors reader for the reference outputs (F32 only), so this test does
/// not depend on the runtime it is testing.
/// </summary>
public static class SafetensorsFile
{
    public static (int[] Shape, float[] Data) ReadF32(string path, string name)
    {
        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, checked((int)headerLength)));
        if (!header.RootElement.TryGetProperty(name, out var entry))
            throw new InvalidOperationException($"{path} has no tensor '{name}'");
        string dtype = entry.GetProperty("dtype").GetString()!;
        if (dtype != "F32") throw new InvalidOperationException($"{path}: '{name}' is {dtype}, expected F32");
        int[] shape = entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        long begin = entry.GetProperty("data_offsets")[0].GetInt64(), end = entry.GetProperty("data_offsets")[1].GetInt64();
        var data = new float[(end - begin) / 4];
        int start = checked((int)(8 + headerLength + begin));
        for (int i = 0; i < data.Length; i++)
            data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(start + 4 * i));
        return (shape, data);
    }
}
