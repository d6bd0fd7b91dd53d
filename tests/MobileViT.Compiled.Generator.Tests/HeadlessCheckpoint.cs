using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace MobileViT.Compiled.Testing;

/// <summary>
/// A classifier's safetensors rewritten as its backbone alone would save it (MobileViTModel.save_pretrained): the
/// base model's prefix ("mobilevit." or "mobilevitv2.") removed, the classifier's tensors dropped. Shared by the
/// generator and runtime tests.
/// </summary>
internal static class HeadlessCheckpoint
{
    public static byte[] FromClassifier(byte[] file, string prefix)
    {
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file));
        var header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, headerLength))!.AsObject();
        int dataStart = 8 + headerLength;
        var backbone = new JsonObject();
        using var data = new MemoryStream();
        foreach (var (name, value) in header.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            var entry = value!.AsObject();
            long begin = entry["data_offsets"]![0]!.GetValue<long>(), end = entry["data_offsets"]![1]!.GetValue<long>();
            long start = data.Length;
            data.Write(file.AsSpan(dataStart + (int)begin, (int)(end - begin)));
            header.Remove(name); // a JSON node has one parent: detach it before adding it to the backbone's header
            entry["data_offsets"] = new JsonArray(start, data.Length);
            backbone[name[prefix.Length..]] = entry;
        }
        return HalfPrecision.Build(backbone.ToJsonString(), data.ToArray());
    }
}
