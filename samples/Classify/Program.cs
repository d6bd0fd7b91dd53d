// mobilevit: classify images with MobileViT models compiled into C# at build time (see CliApp for the commands).
using MobileViT.Cli;

return CliApp.Run(args, Console.Out, Console.Error, Terminal.FromConsole());
