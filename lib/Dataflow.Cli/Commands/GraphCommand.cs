using System.CommandLine;
using Dataflow.Cli.Loading;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Commands;

/// <summary><c>dataflow graph</c>: prints a graph as Mermaid text.</summary>
internal static class GraphCommand
{
    public static Command Create(CliConsole console)
    {
        var assembly = new Option<string>("--assembly", "-a") { Description = "A compiled assembly holding the graph's node types; the sample when absent.", HelpName = "path.dll" };
        var start = new Option<string>("--start", "-s") { Description = "The start node type in --assembly.", HelpName = "NodeType" };
        var command = new Command("graph", "Print a graph as a Mermaid flowchart: the sample pipeline, or --assembly/--start.") { assembly, start };
        command.SetAction(parse =>
        {
            var source = GraphSource.Resolve(parse.GetValue(assembly), parse.GetValue(start));
            console.Output.Write(source.CreateGraph(new GraphOptions()).ToMermaid());
            return ExitCodes.Success;
        });
        return command;
    }
}
