// The part of xunit's API that the linked kernel and model tests use, so they compile into a NativeAOT binary
// unchanged. Program.cs finds the tests by these attributes; a failed Assert throws AssertFailedException.
using System.Collections;

namespace Xunit
{
    [AttributeUsage(AttributeTargets.Method)]
    public class FactAttribute : Attribute;

    [AttributeUsage(AttributeTargets.Method)]
    public sealed class TheoryAttribute : FactAttribute;

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
    public sealed class InlineDataAttribute(params object?[] data) : Attribute
    {
        public object?[] Data { get; } = data;
    }

    /// <summary>Names a public static property or method of the test class that returns the rows.</summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
    public sealed class MemberDataAttribute(string memberName) : Attribute
    {
        public string MemberName { get; } = memberName;
    }

    public abstract class TheoryDataBase : IEnumerable<object?[]>
    {
        private readonly List<object?[]> _rows = [];
        protected void AddRow(params object?[] row) => _rows.Add(row);
        public IEnumerator<object?[]> GetEnumerator() => _rows.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public sealed class TheoryData<T> : TheoryDataBase
    {
        public void Add(T value) => AddRow(value);
    }

    public sealed class TheoryData<T1, T2> : TheoryDataBase
    {
        public void Add(T1 a, T2 b) => AddRow(a, b);
    }

    public sealed class TheoryData<T1, T2, T3, T4, T5, T6, T7, T8> : TheoryDataBase
    {
        public void Add(T1 a, T2 b, T3 c, T4 d, T5 e, T6 f, T7 g, T8 h) => AddRow(a, b, c, d, e, f, g, h);
    }

    public sealed class AssertFailedException(string message) : Exception(message);

    public static class Assert
    {
        public static void True(bool condition, string? message = null)
        {
            if (!condition) throw new AssertFailedException(message ?? "expected true");
        }

        public static void False(bool condition, string? message = null)
        {
            if (condition) throw new AssertFailedException(message ?? "expected false");
        }

        public static void Empty(IEnumerable collection)
        {
            var items = collection.Cast<object?>().ToList();
            if (items.Count != 0) throw new AssertFailedException($"expected none, got {string.Join(", ", items)}");
        }

        public static void Single<T>(IEnumerable<T> collection, Predicate<T> predicate)
        {
            int count = collection.Count(item => predicate(item));
            if (count != 1) throw new AssertFailedException($"expected exactly one matching item, found {count}");
        }

        public static void Fail(string message) => throw new AssertFailedException(message);

        public static void NotNull(object? value)
        {
            if (value is null) throw new AssertFailedException("expected a value, got null");
        }

        /// <summary>Sequences (other than strings) element by element, as xunit does; anything else by Equals.</summary>
        public static void Equal<T>(T expected, T actual)
        {
            if (expected is IEnumerable e && actual is IEnumerable a && expected is not string)
            {
                var expectedItems = e.Cast<object?>().ToList();
                var actualItems = a.Cast<object?>().ToList();
                if (expectedItems.Count != actualItems.Count)
                    throw new AssertFailedException($"expected {expectedItems.Count} items, got {actualItems.Count}");
                for (int i = 0; i < expectedItems.Count; i++)
                    if (!Equals(expectedItems[i], actualItems[i]))
                        throw new AssertFailedException($"item {i}: expected {expectedItems[i]}, got {actualItems[i]}");
                return;
            }
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                throw new AssertFailedException($"expected {expected}, got {actual}");
        }

        public static void Contains(string expectedSubstring, string? actual)
        {
            if (actual is null || !actual.Contains(expectedSubstring, StringComparison.Ordinal))
                throw new AssertFailedException($"'{expectedSubstring}' not found in '{actual}'");
        }

        public static void Contains<T>(T expected, IEnumerable<T> collection)
        {
            if (!collection.Contains(expected)) throw new AssertFailedException($"{expected} not in the collection");
        }

        public static T Throws<T>(Action action) where T : Exception
        {
            try
            {
                action();
            }
            catch (Exception ex) when (ex.GetType() == typeof(T))
            {
                return (T)ex;
            }
            catch (Exception ex)
            {
                throw new AssertFailedException($"expected {typeof(T).Name}, got {ex.GetType().Name}: {ex.Message}");
            }
            throw new AssertFailedException($"expected {typeof(T).Name}, nothing was thrown");
        }
    }
}

namespace Xunit.Abstractions
{
    public interface ITestOutputHelper
    {
        void WriteLine(string message);
    }
}
