using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Router.Testing;

/// <summary>
/// The rules every assembly's log event ids keep (docs/reference.md, "Log event ids"): each [LoggerMessage]
/// method names an explicit id from the assembly's <c>EventIds</c> class, inside the assembly's range, and
/// each of those consts is used by exactly one method, so one number in a log names one line.
/// </summary>
public static class EventIdRules
{
    private const BindingFlags AllStatic = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Every [LoggerMessage] method of the assembly, by "Type.Method", with the id its attribute carries.</summary>
    public static IReadOnlyList<(string Method, int Id)> LoggingMethods(Assembly assembly) =>
        [.. assembly.GetTypes()
            .SelectMany(type => type.GetMethods(AllStatic | BindingFlags.Instance))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(found => found.Attribute is not null)
            .Select(found => ($"{found.Method.DeclaringType!.FullName}.{found.Method.Name}", found.Attribute!.EventId))
            .OrderBy(found => found.Item1, StringComparer.Ordinal)];

    /// <summary>The int consts of an EventIds class, by name.</summary>
    public static IReadOnlyDictionary<string, int> Consts(Type eventIds) =>
        eventIds.GetFields(AllStatic)
            .Where(field => field.IsLiteral && field.FieldType == typeof(int))
            .ToDictionary(field => field.Name, field => (int)field.GetRawConstantValue()!, StringComparer.Ordinal);

    /// <summary>One line per broken rule; empty when the assembly keeps them all.</summary>
    public static IReadOnlyList<string> Problems(Assembly assembly, Type eventIds, int first, int last)
    {
        var problems = new List<string>();
        var methods = LoggingMethods(assembly);
        var consts = Consts(eventIds);
        if (methods.Count == 0)
        {
            problems.Add($"no [LoggerMessage] method found in {assembly.GetName().Name}");
        }

        foreach (var (method, id) in methods)
        {
            // LoggerMessageAttribute.EventId is -1 when the attribute names none.
            if (id < first || id > last)
            {
                problems.Add(id == -1 ? $"{method} has no explicit event id" : $"{method} uses event id {id}, outside {first}–{last}");
            }
        }

        foreach (var group in methods.GroupBy(found => found.Id).Where(group => group.Count() > 1))
        {
            problems.Add($"event id {group.Key} is used by {string.Join(", ", group.Select(found => found.Method))}");
        }

        foreach (var (name, id) in consts)
        {
            var users = methods.Count(found => found.Id == id);
            if (users != 1)
            {
                problems.Add($"{eventIds.Name}.{name} = {id} is used by {users} [LoggerMessage] methods, not 1");
            }
        }

        foreach (var group in consts.GroupBy(pair => pair.Value).Where(group => group.Count() > 1))
        {
            problems.Add($"{eventIds.Name} gives {group.Key} to {string.Join(", ", group.Select(pair => pair.Key))}");
        }

        foreach (var (method, id) in methods)
        {
            if (id != -1 && !consts.Values.Contains(id))
            {
                problems.Add($"{method} uses event id {id}, which is no {eventIds.Name} const");
            }
        }

        return problems;
    }
}
