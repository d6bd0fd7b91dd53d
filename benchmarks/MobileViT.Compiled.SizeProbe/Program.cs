// Creates the one embedded model and runs it once on zeros, so that everything a real app needs is compiled in.
#if NO_MODEL
Console.WriteLine("no model");
#else
using MobileViT.Compiled.ICompiledModel model = MobileViT.Compiled.SizeProbe.ProbeModel.Create(1);
var output = new float[model.OutputLength];
model.Run(new float[model.InputChannels * model.InputHeight * model.InputWidth], output);
Console.WriteLine($"{model.ModelName} {model.Precision}: {model.WeightsResidence}; logit 0 on zeros {output[0]}");
#endif
