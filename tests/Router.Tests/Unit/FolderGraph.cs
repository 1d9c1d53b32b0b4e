using System.Reflection;
using System.Reflection.Emit;

namespace Router.Tests;

/// <summary>
/// Which folders of an assembly use which: a folder is a namespace below the assembly's root
/// (<c>Router.Routing.Direct</c> → <c>Routing/Direct</c>). Read from the compiled assembly, so nothing
/// in the source can hide an edge: base types, interfaces, fields, properties, signatures, and every
/// type, method and field token in the method bodies (lambdas and async state machines are nested
/// types of the method's own type, so they count for its folder).
/// </summary>
internal static class FolderGraph
{
    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OperandType> OperandTypes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value, o => o.OperandType);

    /// <summary>Every edge "folder A uses a type of folder B", A ≠ B.</summary>
    public static SortedSet<(string From, string To)> Edges(Assembly assembly, string root)
    {
        var edges = new SortedSet<(string, string)>();
        foreach (var type in assembly.GetTypes())
        {
            if (Folder(type, root) is not { } from)
            {
                continue;
            }

            foreach (var used in Uses(type).SelectMany(Expand))
            {
                if (used.Assembly == assembly && Folder(used, root) is { } to && to != from)
                {
                    edges.Add((from, to));
                }
            }
        }

        return edges;
    }

    /// <summary>The cycles among the folders, each as its strongly connected set of folders, sorted.</summary>
    public static List<string[]> Cycles(IEnumerable<(string From, string To)> edges)
    {
        var next = edges.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).ToList());
        var nodes = edges.SelectMany(e => new[] { e.From, e.To }).Distinct().Order(StringComparer.Ordinal).ToList();
        bool Reaches(string from, string to)
        {
            var seen = new HashSet<string>();
            var stack = new Stack<string>([from]);
            while (stack.TryPop(out var at))
            {
                foreach (var n in next.GetValueOrDefault(at) ?? [])
                {
                    if (n == to)
                    {
                        return true;
                    }

                    if (seen.Add(n))
                    {
                        stack.Push(n);
                    }
                }
            }

            return false;
        }

        var cycles = new List<string[]>();
        var placed = new HashSet<string>();
        foreach (var node in nodes)
        {
            if (placed.Contains(node) || !Reaches(node, node))
            {
                continue;
            }

            var component = nodes.Where(n => n == node || (Reaches(node, n) && Reaches(n, node))).ToArray();
            placed.UnionWith(component);
            cycles.Add(component);
        }

        return cycles;
    }

    private static string? Folder(Type type, string root)
    {
        var ns = type.Namespace;
        if (ns is null || !ns.StartsWith(root + ".", StringComparison.Ordinal))
        {
            return null;
        }

        return ns[(root.Length + 1)..].Replace('.', '/');
    }

    private static IEnumerable<Type> Uses(Type type)
    {
        if (type.BaseType is { } baseType)
        {
            yield return baseType;
        }

        foreach (var face in type.GetInterfaces())
        {
            yield return face;
        }

        foreach (var field in type.GetFields(Everything))
        {
            yield return field.FieldType;
        }

        foreach (var property in type.GetProperties(Everything))
        {
            yield return property.PropertyType;
        }

        foreach (var ev in type.GetEvents(Everything))
        {
            if (ev.EventHandlerType is { } handler)
            {
                yield return handler;
            }
        }

        var methods = type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything));
        foreach (var method in methods)
        {
            if (method is MethodInfo info)
            {
                yield return info.ReturnType;
            }

            foreach (var parameter in method.GetParameters())
            {
                yield return parameter.ParameterType;
            }

            foreach (var used in BodyUses(method))
            {
                yield return used;
            }
        }
    }

    /// <summary>The types named by the tokens in a method's IL.</summary>
    private static List<Type> BodyUses(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            return [];
        }

        var found = new List<Type>();
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var at = 0;
        while (at < il.Length)
        {
            short code = il[at++];
            if (code == 0xFE)
            {
                code = (short)(0xFE00 | il[at++]);
            }

            var operand = OperandTypes.TryGetValue(code, out var kind) ? kind : OperandType.InlineNone;
            switch (operand)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, at);
                    try
                    {
                        var member = method.Module.ResolveMember(token, typeArguments, methodArguments);
                        switch (member)
                        {
                            case Type t:
                                found.Add(t);
                                break;
                            case MethodBase m:
                                if (m.DeclaringType is { } owner)
                                {
                                    found.Add(owner);
                                }

                                if (m is MethodInfo { IsGenericMethod: true } generic)
                                {
                                    found.AddRange(generic.GetGenericArguments());
                                }

                                break;
                            case FieldInfo f:
                                if (f.DeclaringType is { } fieldOwner)
                                {
                                    found.Add(fieldOwner);
                                }

                                found.Add(f.FieldType);
                                break;
                        }
                    }
                    catch (ArgumentException)
                    {
                        // A token that needs a generic context this walk does not have: its open form was seen elsewhere.
                    }

                    at += 4;
                    break;
                case OperandType.InlineSwitch:
                    var count = BitConverter.ToInt32(il, at);
                    at += 4 + (4 * count);
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    at += 8;
                    break;
                case OperandType.InlineBrTarget or OperandType.InlineI or OperandType.InlineSig or OperandType.InlineString or OperandType.ShortInlineR:
                    at += 4;
                    break;
                case OperandType.InlineVar:
                    at += 2;
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    at += 1;
                    break;
            }
        }

        return found;
    }

    /// <summary>A type and what it is built from: element types and generic arguments.</summary>
    private static IEnumerable<Type> Expand(Type type)
    {
        var stack = new Stack<Type>([type]);
        while (stack.TryPop(out var t))
        {
            if (t.HasElementType)
            {
                stack.Push(t.GetElementType()!);
                continue;
            }

            if (t.IsGenericParameter)
            {
                continue;
            }

            yield return t.IsGenericType ? t.GetGenericTypeDefinition() : t;
            if (t.IsConstructedGenericType)
            {
                foreach (var argument in t.GetGenericArguments())
                {
                    stack.Push(argument);
                }
            }
        }
    }
}
