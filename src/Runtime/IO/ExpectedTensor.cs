namespace MobileViT.Compiled.IO;

/// <summary>One tensor a compiled model needs: its safetensors name and exact shape (the compiled manifest).</summary>
public sealed class ExpectedTensor
{
    public ExpectedTensor(string name, params int[] shape)
    {
        Name = name;
        Shape = shape;
    }

    public string Name { get; }
    public int[] Shape { get; }

    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (int d in Shape) count *= d;
            return count;
        }
    }

    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
