using System.CommandLine;

namespace MobileViT.Cli;

/// <summary>The embed and similar commands: image features from a model's RunFeatures.</summary>
internal static partial class CliApp
{
    private static Command BuildEmbed(TextWriter stdout, TextWriter stderr)
    {
        var images = new Argument<string[]>("image-or-folder")
        {
            Description = "Images to embed; folders are searched recursively for *.png, *.jpg, *.jpeg, *.bmp and *.gif.",
            Arity = ArgumentArity.OneOrMore,
        };
        var (model, weights, threads, maxPixels) = FeatureModelOptions();
        var precision = PrecisionOption();
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON array: {\"file\": ..., \"features\": [...], \"ms\": ...} per image.",
        };
        var npy = new Option<string?>("--npy")
        {
            Description = "Write the features as a float32 NumPy array (images x features) to this file, and print the images' files in row order.",
            HelpName = "out.npy",
        };
        var embed = new Command("embed",
            "Image features (embeddings) for search, de-duplication or clustering: the model's pooled features before its "
            + "classifier (Hugging Face's pooler_output; 320 values for the fashion model). Without --json or --npy: one line per image.")
        {
            images, model, weights, json, npy, threads, maxPixels, precision,
        };
        embed.SetAction(parse => Guard(stderr, () => EmbedCommand.Embed(
            new EmbedOptions(parse.GetValue(images) ?? [], parse.GetValue(model)!, parse.GetValue(weights), parse.GetValue(json), parse.GetValue(npy),
                parse.GetValue(threads), parse.GetValue(maxPixels), parse.GetValue(precision)!),
            stdout, stderr)));
        return embed;
    }

    private static Command BuildSimilar(TextWriter stdout, TextWriter stderr)
    {
        var query = new Argument<string>("query-image") { Description = "The image to find similar images to." };
        var folder = new Argument<string>("folder") { Description = "The folder searched (recursively) for images." };
        var (model, weights, threads, maxPixels) = FeatureModelOptions();
        var precision = PrecisionOption();
        var top = new Option<int>("--top", "-k")
        {
            Description = "How many images to print, most similar first.",
            DefaultValueFactory = _ => 5,
            HelpName = "K",
        };
        var similar = new Command("similar",
            "Ranks the images of a folder by the cosine similarity of their features to the query image's (1 = same direction); "
            + "prints the similarity and the file, most similar first.")
        {
            query, folder, model, weights, top, threads, maxPixels, precision,
        };
        similar.SetAction(parse => Guard(stderr, () => EmbedCommand.Similar(
            new SimilarOptions(parse.GetValue(query)!, parse.GetValue(folder)!, parse.GetValue(model)!, parse.GetValue(weights), parse.GetValue(top),
                parse.GetValue(threads), parse.GetValue(maxPixels), parse.GetValue(precision)!),
            stdout, stderr)));
        return similar;
    }

    // The model options of embed and similar: the same models as classifying (every classifier gives features).
    private static (Option<string> Model, Option<string?> Weights, Option<int> Threads, Option<long> MaxPixels) FeatureModelOptions()
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "The model whose features are used: " + string.Join(", ", ModelCatalog.Names) + ".",
            DefaultValueFactory = _ => ModelCatalog.DefaultModel,
            HelpName = "name",
        };
        model.AcceptOnlyFromAmong(ModelCatalog.Names);
        var weights = new Option<string?>("--weights", "-w")
        {
            Description = "A model.safetensors for the chosen architecture (needed by the ImageNet models, which embed no weights).",
            HelpName = "file",
        };
        var threads = new Option<int>("--threads", "-t") { Description = "Worker threads of the model; 0 = all cores.", DefaultValueFactory = _ => 0, HelpName = "N" };
        return (model, weights, threads, MaxPixelsOption());
    }
}
