using System.Reflection;
using Dataflow.Cli.Sample;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Loading;

/// <summary>Where a command's graph comes from: the built-in sample, or a start node type in a user's assembly.</summary>
internal sealed class GraphSource
{
    private GraphSource(Type startType, string description, bool isSample)
    {
        StartType = startType;
        Description = description;
        IsSample = isSample;
    }

    public Type StartType { get; }

    /// <summary>For the summary: <c>sample (Order)</c> or <c>MyGraphs.dll: Start</c>.</summary>
    public string Description { get; }

    public bool IsSample { get; }

    /// <summary>Resolves <c>--assembly</c> and <c>--start</c>; neither means the sample.</summary>
    /// <exception cref="CliException">The file is missing, is not a .NET assembly, or has no such node type.</exception>
    public static GraphSource Resolve(string? assemblyPath, string? startName)
    {
        if (assemblyPath is null)
        {
            if (startName is not null)
            {
                throw new CliException("--start needs --assembly: the sample pipeline always starts at Order.");
            }

            return new GraphSource(typeof(Order), "sample (Order)", isSample: true);
        }

        if (startName is null)
        {
            throw new CliException($"--assembly needs --start <NodeType>: name the start node type in '{assemblyPath}'.");
        }

        CliPaths.Require("--assembly", assemblyPath);
        var full = Path.GetFullPath(assemblyPath);
        if (Directory.Exists(full))
        {
            throw new CliException($"--assembly '{assemblyPath}' is a directory; give the compiled assembly file (.dll) inside it.");
        }

        if (!File.Exists(full))
        {
            throw new CliException($"assembly not found: '{assemblyPath}' (looked for {full}).");
        }

        Assembly assembly;
        try
        {
            assembly = new PluginLoadContext(full).LoadFromAssemblyPath(full);
        }
        catch (BadImageFormatException e)
        {
            throw new CliException($"bad assembly: '{assemblyPath}' is not a .NET assembly ({e.Message}).", e);
        }
        catch (FileLoadException e)
        {
            throw new CliException($"bad assembly: '{assemblyPath}' could not be loaded ({e.Message}).", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"assembly not readable: '{assemblyPath}' ({e.Message}).", e);
        }

        var nodes = NodeTypes(assembly);
        var matches = nodes.Where(t => t.FullName == startName).ToArray();
        if (matches.Length == 0)
        {
            matches = nodes.Where(t => t.Name == startName).ToArray();
        }

        if (matches.Length == 1)
        {
            return new GraphSource(matches[0], $"{Path.GetFileName(full)}: {matches[0].Name}", isSample: false);
        }

        if (matches.Length > 1)
        {
            throw new CliException($"node type '{startName}' is ambiguous in '{assemblyPath}'; use the full name: {string.Join(", ", matches.Select(t => t.FullName))}.");
        }

        var known = nodes.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
        throw new CliException(known.Length == 0
            ? $"unknown node type '{startName}': '{assemblyPath}' has no node types (classes or records implementing Dataflow.INode)."
            : $"unknown node type '{startName}' in '{assemblyPath}'; its node types are: {string.Join(", ", known)}.");
    }

    /// <summary>Builds and validates the graph.</summary>
    /// <exception cref="CliException">The graph is invalid; the message names each node at fault.</exception>
    public Graph CreateGraph(GraphOptions options)
    {
        try
        {
            return Graph.Create(StartType, options);
        }
        catch (InvalidGraphException e)
        {
            throw new CliException(e.Message, e);
        }
    }

    private static Type[] NodeTypes(Assembly assembly)
    {
        Type?[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types;
        }

        return [.. types.OfType<Type>().Where(t => typeof(INode).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface && !t.ContainsGenericParameters)];
    }
}
