using System.CommandLine;
using System.Globalization;
using MobileViT.Compiled;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Cli;

/// <summary>The `mobilevit` command line (System.CommandLine): classify images, or evaluate on Fashion-MNIST.</summary>
internal static partial class CliApp
{
    /// <summary>Parses <paramref name="args"/> and runs the command; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Terminal terminal)
    {
        var root = Build(stdout, stderr, terminal);
        var parsed = root.Parse(args);
        int code = parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        return parsed.Errors.Count > 0 ? ExitCodes.Usage : code; // the parser's errors and help are printed; exit 2 as documented
    }

    internal static RootCommand Build(TextWriter stdout, TextWriter stderr, Terminal terminal)
    {
        var images = new Argument<string[]>("image-or-folder")
        {
            Description = "Images (PNG, JPEG, BMP, GIF) to classify; folders are searched recursively for *.png, *.jpg, *.jpeg, *.bmp and *.gif.",
            Arity = ArgumentArity.OneOrMore,
        };
        var model = new Option<string>("--model", "-m")
        {
            Description = "The model: " + string.Join("; ", ModelCatalog.All.Select(m => $"{m.Name} = {m.Description}")) + ".",
            DefaultValueFactory = _ => ModelCatalog.DefaultModel,
            HelpName = "name",
        };
        model.AcceptOnlyFromAmong(ModelCatalog.Names);
        var weights = new Option<string?>("--weights", "-w")
        {
            Description = "A model.safetensors for the chosen architecture (e.g. from the Hugging Face model apple/mobilevit-small). "
                + "A preprocessor_config.json in the same folder replaces the compiled-in preprocessing. Weights of another architecture are refused.",
            HelpName = "file",
        };
        var top = new Option<int>("--top", "-k")
        {
            Description = "How many labels to print per image, most probable first.",
            DefaultValueFactory = _ => 5,
            HelpName = "K",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON array on standard output, one object per classified image: "
                + "{\"file\": ..., \"top\": [{\"index\": 7, \"label\": \"Sneaker\", \"probability\": 0.93}, ...], \"ms\": 0.41}. "
                + "Images that fail are left out (their error is on standard error).",
        };
        var threads = new Option<int>("--threads", "-t")
        {
            Description = "Worker threads of the model; 0 = all cores.",
            DefaultValueFactory = _ => 0,
            HelpName = "N",
        };

        var maxPixels = MaxPixelsOption();
        var precision = PrecisionOption();

        var root = new RootCommand(
            "Classifies images with MobileViT models compiled into C# by MobileViT.Compiled. "
            + "Prints each image's top-K labels with softmax probabilities and the time the model took. "
            + "Exit code: 0 when every image was classified, 1 when an image or the weights failed (one line on standard error each; "
            + "the other images are still classified), 2 for a wrong command line.")
        {
            images, model, weights, top, json, threads, maxPixels, precision,
        };
        root.SetAction(parse => Guard(stderr, () => ClassifyCommand.Run(
            new ClassifyOptions(parse.GetValue(images) ?? [], parse.GetValue(model)!, parse.GetValue(weights), parse.GetValue(top), parse.GetValue(json), parse.GetValue(threads),
                parse.GetValue(maxPixels), parse.GetValue(precision)!),
            stdout, stderr, terminal)));

        var data = new Option<string?>("--data", "-d")
        {
            Description = $"Folder with the Fashion-MNIST test set in IDX format ({FashionMnist.ImagesFile}.gz and {FashionMnist.LabelsFile}.gz). "
                + $"Without it: ${FashionMnist.EnvironmentVariable} when set, else the copy the build puts next to the app (fashion-mnist/, "
                + $"from the repository's tests/fixtures), else {FashionMnist.DebianFolder} (the Debian package dataset-fashion-mnist).",
            HelpName = "dir",
        };
        var evalThreads = new Option<int>("--threads", "-t")
        {
            Description = "Images classified at once, each by its own single-threaded model instance; 0 = one per core.",
            DefaultValueFactory = _ => 0,
            HelpName = "N",
        };
        var limit = new Option<int>("--limit")
        {
            Description = "Classify only the first N test images (0 = all).",
            DefaultValueFactory = _ => 0,
            HelpName = "N",
        };
        var evalPrecision = PrecisionOption();
        var evalFashion = new Command("eval-fashion",
            "Classifies the 10,000 Fashion-MNIST test images with the embedded fashion model and prints the precision that ran, the accuracy, "
            + "the agreement with the reference implementation's predictions (Hugging Face transformers, PyTorch fp32) and images per second; "
            + "with --precision int8 also the agreement with this app's fp32 model (run after the int8 one, not timed).")
        {
            data, evalThreads, limit, evalPrecision,
        };
        evalFashion.SetAction(parse => Guard(stderr, () => EvalFashion(parse.GetValue(data) ?? FashionMnist.DefaultFolder(), parse.GetValue(evalThreads), parse.GetValue(limit),
            parse.GetValue(evalPrecision)!, stdout, stderr, terminal)));
        root.Subcommands.Add(evalFashion);
        root.Subcommands.Add(BuildSegment(stdout, stderr));
        root.Subcommands.Add(BuildEmbed(stdout, stderr));
        root.Subcommands.Add(BuildSimilar(stdout, stderr));

        var info = new Command("info",
            "Prints the machine's architecture and vector instruction sets and, per kernel, the path it runs in this binary "
            + "(Vector512, Vector256, Vector128 or Scalar; under NativeAOT fixed by the instruction set the binary was compiled for), "
            + "where the embedded Fashion-MNIST model reads its weights (in place in the binary), and the models compiled in, per precision.");
        info.SetAction(_ =>
        {
            stdout.Write(MobileViT.Compiled.KernelInfo.Describe());
            foreach (string p in Precisions.All)
            {
                using var fashion = ModelCatalog.Get("fashion").Open(null, 1, p);
                stdout.WriteLine($"weights of {ClassifyCommand.DisplayName(fashion)}: {fashion.WeightsResidence}");
            }
            foreach (var entry in ModelCatalog.All)
                stdout.WriteLine($"model {entry.Name}: {string.Join(", ", Precisions.All.Select(p => entry.Variant(p).Precision))}; "
                    + (entry.HasEmbeddedWeights ? "weights embedded" : "weights from --weights"));
            return 0;
        });
        root.Subcommands.Add(info);
        return root;
    }

    private static Command BuildSegment(TextWriter stdout, TextWriter stderr)
    {
        var image = new Argument<string>("image") { Description = "The image (PNG, JPEG, BMP, GIF) to segment." };
        var weights = new Option<string?>("--weights", "-w")
        {
            Description = "The model.safetensors of the Hugging Face model apple/deeplabv3-mobilevit-xx-small (required: no segmentation weights are embedded). "
                + "A preprocessor_config.json in the same folder replaces the compiled-in preprocessing.",
            HelpName = "file",
        };
        var mask = new Option<string?>("--out", "-o") { Description = "Write the colour-coded class mask (PASCAL VOC palette) at the image's size as PNG.", HelpName = "mask.png" };
        var overlay = new Option<string?>("--overlay") { Description = "Write the mask blended over the photo as PNG.", HelpName = "overlay.png" };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON object: {\"file\": ..., \"width\": ..., \"height\": ..., \"classes\": [{\"index\": 15, \"label\": \"person\", \"share\": 0.31}, ...], \"ms\": ...}.",
        };
        var threads = new Option<int>("--threads", "-t") { Description = "Worker threads of the model; 0 = all cores.", DefaultValueFactory = _ => 0, HelpName = "N" };
        var maxPixels = MaxPixelsOption();
        var segment = new Command("segment",
            "Semantic segmentation with DeepLabV3-MobileViT-XXS (PASCAL VOC, 21 classes): the logits are upsampled to the image's size "
            + "(bilinear) and argmaxed per pixel; prints each class's share of the pixels, and writes the mask and an overlay as PNG.")
        {
            image, weights, mask, overlay, json, threads, maxPixels,
        };
        segment.SetAction(parse => Guard(stderr, () => SegmentCommand.Run(
            new SegmentOptions(parse.GetValue(image)!, parse.GetValue(weights), parse.GetValue(mask), parse.GetValue(overlay), parse.GetValue(json), parse.GetValue(threads),
                parse.GetValue(maxPixels)),
            stdout, stderr)));
        return segment;
    }

    // The same option for classify and segment: refuses an image by its header before decoding it (decompression bombs).
    private static Option<long> MaxPixelsOption() => new("--max-pixels")
    {
        Description = "Refuse images whose header declares more than N pixels (width x height), before decoding them "
            + $"(the default is Pillow's limit); at most {RawImage.MaxPixels}.",
        DefaultValueFactory = _ => RawImage.DefaultMaxPixels,
        HelpName = "N",
    };

    // The same option for every command that opens a classifier (classify, eval-fashion, embed, similar).
    internal static Option<string> PrecisionOption()
    {
        var precision = new Option<string>("--precision", "-p")
        {
            Description = "The model's precision: fp32 (float, as trained), or int8 (the same model with its 1x1 convolutions and linear layers "
                + "in int8: weights per output channel, activations per tensor at run time; the rest stays float). "
                + "Every model is compiled in both; with --weights, int8 quantizes the float weights when it loads them.",
            DefaultValueFactory = _ => Precisions.Default,
            HelpName = string.Join("|", Precisions.All),
        };
        // Not AcceptOnlyFromAmong: its message does not name the option. Same exit code (2) as every parse error.
        precision.Validators.Add(result =>
        {
            string value = result.GetValueOrDefault<string>() ?? "";
            if (!Precisions.All.Contains(value))
                result.AddError($"--precision must be {string.Join(" or ", Precisions.All)}, not '{value}'");
        });
        precision.CompletionSources.Add(Precisions.All);
        return precision;
    }

    private static int EvalFashion(string folder, int threads, int limit, string precision, TextWriter stdout, TextWriter stderr, Terminal terminal)
    {
        if (threads < 0) throw new UsageException($"--threads must be 0 (one per core) or more, not {threads}");
        if (limit < 0) throw new UsageException($"--limit must be 0 (all) or more, not {limit}");
        Precisions.Check(precision);
        FashionMnist set;
        try { set = FashionMnist.Load(folder); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {ClassifyCommand.OneLine(e.Message)}");
            return ExitCodes.Failed;
        }
        var entry = ModelCatalog.Get("fashion");
        int workers = threads == 0 ? Environment.ProcessorCount : threads;
        var result = FashionEvaluation.Run(set, () => entry.Open(null, 1, precision), entry.Preprocessor, workers, limit, terminal);
        // int8 against our own fp32 model on the same images (the speed line stays the int8 run's).
        int? agreeingWithFp32 = null;
        if (precision != Precisions.Fp32)
        {
            var fp32 = FashionEvaluation.Run(set, () => entry.Open(null, 1, Precisions.Fp32), entry.Preprocessor, workers, limit, terminal, "Fashion-MNIST test set, fp32 for the comparison");
            agreeingWithFp32 = FashionEvaluation.Agreeing(result.Predictions, fp32.Predictions);
        }
        var c = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Format(c, "Fashion-MNIST test set: {0} of {1} images from {2}", result.Count, set.Count, folder));
        stdout.WriteLine(precision == Precisions.Int8
            ? "precision:  int8 (the 1x1 convolutions and linear layers in int8, the rest in float)"
            : "precision:  fp32");
        stdout.WriteLine(string.Format(c, "accuracy:   {0:F2} % ({1} / {2}; the reference's: 88.64 % on all 10,000)", result.Accuracy * 100, result.Correct, result.Count));
        if (result.ReferenceApplies)
            stdout.WriteLine(string.Format(c, "agreement:  {0:F2} % ({1} / {2} predictions equal to the reference implementation's, fp32)", result.Agreement * 100, result.Agreeing, result.Count));
        else
            stdout.WriteLine("agreement:  not measured (these labels are not those of the reference's test set, so its predictions do not apply)");
        if (agreeingWithFp32 is int same)
            stdout.WriteLine(string.Format(c, "with fp32:  {0:F2} % ({1} / {2} predictions equal to this app's fp32 model's)", 100.0 * same / result.Count, same, result.Count));
        stdout.WriteLine(string.Format(c, "speed:      {0:F0} images/s ({1} model instance(s) in parallel, {2:F2} s including preprocessing)", result.ImagesPerSecond, result.Workers, result.Seconds));
        return ExitCodes.Success;
    }

    // Errors the user can act on become one line and an exit code, never a stack trace.
    private static int Guard(TextWriter stderr, Func<int> action)
    {
        try { return action(); }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (ModelLoadException e)
        {
            stderr.WriteLine($"error: {ClassifyCommand.OneLine(e.Message)}");
            return ExitCodes.Failed;
        }
    }
}
