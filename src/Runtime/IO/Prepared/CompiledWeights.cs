namespace MobileViT.Compiled.IO;

/// <summary>
/// What a generated model class knows of its weights: the recipe that prepares them, its fingerprint, the number of
/// prepared entries, the tensors it reads and the SHA-256 of the safetensors file it was compiled against.
/// </summary>
public sealed class CompiledWeights
{
    private WeightRecipe? _recipe;

    public CompiledWeights(string modelName, string recipe, ulong fingerprint, int entryCount, string sourceSha256,
        IReadOnlyList<ExpectedTensor> expectedTensors)
    {
        ModelName = modelName;
        RecipeText = recipe;
        Fingerprint = fingerprint;
        EntryCount = entryCount;
        SourceSha256 = sourceSha256;
        ExpectedTensors = expectedTensors;
    }

    public string ModelName { get; }
    public string RecipeText { get; }
    public ulong Fingerprint { get; }
    public int EntryCount { get; }
    public string SourceSha256 { get; }
    public IReadOnlyList<ExpectedTensor> ExpectedTensors { get; }

    private long[]? _entryLengths;

    /// <summary>The float count of each prepared entry (from the recipe): checked when a prepared file is mapped, never by Create.</summary>
    public IReadOnlyList<long> EntryLengths => _entryLengths ??= WeightPreparer.EntryLengths(Recipe, ExpectedTensors);

    /// <summary>The parsed recipe, needed only to prepare weights (Load of a safetensors file), never by Create.</summary>
    public WeightRecipe Recipe => _recipe ??= CheckedRecipe();

    private WeightRecipe CheckedRecipe()
    {
        var recipe = WeightRecipe.Parse(RecipeText);
        if (recipe.EntryCount != EntryCount)
            throw new InvalidOperationException($"{ModelName}: the weight recipe has {recipe.EntryCount} entries, the class reads {EntryCount}");
        return recipe;
    }
}
