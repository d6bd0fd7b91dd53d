using Xunit.Abstractions;
using MobileViT.Compiled.Tests.Compiled;

namespace MobileViT.Compiled.Tests.Models;

/// <summary>DeepLabV3-MobileViT-XXS (output stride 16, ASPP) against the reference on the 512x512 photo input.</summary>
public class SegmentationAccuracyTests(ITestOutputHelper log)
{
    private const string Model = "deeplabv3-mobilevit-xx-small";

    [Fact]
    public void LogitsMatchReferenceAndEveryPixelsArgmaxAgrees()
    {
        using var network = CompiledModels.Create(Model);
        Assert.Equal(21 * 32 * 32, network.OutputLength);
        var expected = Fixtures.Reference(Model, "logits.photo_chelsea");
        var output = new float[expected.Length];
        network.Run(Fixtures.Read(Fixtures.Inputs512, "input.photo_chelsea"), output);
        var (error, bound) = Fixtures.Compare(output, expected);
        log.WriteLine($"{Model}/photo_chelsea: max |ours - ref| = {error:E3}, relative: {error / (bound / 1e-4f):E3}");
        Assert.True(error <= bound, $"max error {error} > {bound}");

        const int pixels = 32 * 32;
        int disagreements = 0;
        var detail = new List<string>();
        for (int p = 0; p < pixels; p++)
        {
            int ours = 0, theirs = 0;
            for (int c = 1; c < 21; c++)
            {
                if (output[c * pixels + p] > output[ours * pixels + p]) ours = c;
                if (expected[c * pixels + p] > expected[theirs * pixels + p]) theirs = c;
            }
            if (ours != theirs)
            {
                disagreements++;
                detail.Add($"pixel {p}: ours {ours} ({output[ours * pixels + p]} vs {output[theirs * pixels + p]}), reference {theirs} ({expected[theirs * pixels + p]} vs {expected[ours * pixels + p]})");
            }
        }
        Assert.True(disagreements == 0, $"{disagreements} pixels disagree:\n" + string.Join("\n", detail.Take(10)));
    }

    [Fact]
    public void DilatedLastStageMatchesReferenceHiddenState()
    {
        using var network = CompiledModels.Create(Model);
        var expected = Fixtures.Reference(Model, "hidden_states.4.photo_chelsea");
        float[]? actual = null;
        network.Run(Fixtures.Read(Fixtures.Inputs512, "input.photo_chelsea"), new float[network.OutputLength],
            (stage, features, c, h, w) => { if (stage == 4) { Assert.Equal((80, 32, 32), (c, h, w)); actual = features.ToArray(); } });
        var (error, bound) = Fixtures.Compare(actual!, expected);
        Assert.True(error <= bound, $"max error {error} > {bound}");
    }
}
