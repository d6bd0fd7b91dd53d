// A consumer of the packed MobileViT.Compiled package (eng/ci/arm64.sh publishes it for linux-arm64 and runs it under
// qemu): the Fashion-MNIST fixture model compiled from its folder, run on a fixed synthetic input; prints the logits,
// which must equal the x64 JIT build's to 1e-4 of the largest.
using System.Globalization;

var input = new float[ConsumerModels.FashionNet.InputChannels * ConsumerModels.FashionNet.InputHeight * ConsumerModels.FashionNet.InputWidth];
for (int i = 0; i < input.Length; i++) input[i] = (i * 37 % 101) / 100f; // a fixed pattern in [0, 1]
using var model = ConsumerModels.FashionNet.Create(threads: 1);
var logits = new float[ConsumerModels.FashionNet.OutputLength];
model.Run(input, logits);
foreach (var logit in logits) Console.WriteLine(logit.ToString("R", CultureInfo.InvariantCulture));
