namespace MobileViT.Cli;

/// <summary>Expands the command line's files and folders into the list of images to classify.</summary>
internal static class ImageFiles
{
    /// <summary>
    /// Files as given (whatever their extension), folders walked recursively for PNG/JPEG/BMP/GIF files in ordinal
    /// order. A path that does not exist stays in the list (classifying it reports the error in its turn); so does a
    /// folder without images, so that it is reported too.
    /// </summary>
    public static List<string> Expand(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (string path in paths)
        {
            if (!Directory.Exists(path))
            {
                files.Add(path);
                continue;
            }
            List<string> found;
            try
            {
                found = Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System })
                    .Where(f => ImageDecoder.Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                    .Order(StringComparer.Ordinal)
                    .ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                found = [];
            }
            if (found.Count == 0) files.Add(path); // Decode reports "is a folder without images"
            else files.AddRange(found);
        }
        return files;
    }
}
