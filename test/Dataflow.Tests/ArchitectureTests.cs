using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Dataflow.Tests;

/// <summary>
/// Keeps the direction of dependencies from the design (never back): Graphs, Diagnostics, Storage and Checkpoints at the bottom,
/// Events above them, Engine above Events; a store backend uses only the store and checkpoint seams of the core (except the
/// PostgreSQL work queue's workers, which run graphs).
/// </summary>
[TestFixture]
public sealed partial class ArchitectureTests
{
    /// <summary>For each part (a folder of the core, or a backend project), the parts of the core it may use.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> Allowed = new Dictionary<string, string[]>
    {
        ["Dataflow"] = [],
        ["Dataflow.Graphs"] = [],
        ["Dataflow.Diagnostics"] = [],
        ["Dataflow.Storage"] = [],
        ["Dataflow.Checkpoints"] = [],
        ["Dataflow.Events"] = ["Dataflow.Diagnostics", "Dataflow.Storage"],
        ["Dataflow.Engine"] = ["Dataflow.Graphs", "Dataflow.Diagnostics", "Dataflow.Events", "Dataflow.Checkpoints"],
        ["Dataflow.Sqlite"] = ["Dataflow.Storage", "Dataflow.Checkpoints"],
        ["Dataflow.Npgsql"] = ["Dataflow.Storage", "Dataflow.Checkpoints"],

        // The work queue's workers run graphs in their own engines: the one part of a backend that may use the engine.
        ["Dataflow.Npgsql.Jobs"] = ["Dataflow.Storage", "Dataflow.Checkpoints", "Dataflow.Graphs", "Dataflow.Engine"],
    };

    private static readonly string[] CoreParts = ["Dataflow.Graphs", "Dataflow.Diagnostics", "Dataflow.Storage", "Dataflow.Checkpoints", "Dataflow.Events", "Dataflow.Engine"];

    /// <summary>
    /// For each project under <c>lib/</c> (each a package), the projects it may reference. An integration stays out of
    /// what it integrates: the hosting package knows no store backend, no backend knows hosting, and the package that
    /// joins the two (<c>Dataflow.Extensions.Hosting.Sqlite</c>) is the only one that references both.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string[]> Projects = new Dictionary<string, string[]>
    {
        ["Dataflow"] = [],
        ["Dataflow.Sqlite"] = ["Dataflow"],
        ["Dataflow.Npgsql"] = ["Dataflow"],
        ["Dataflow.Extensions.Hosting"] = ["Dataflow"],
        ["Dataflow.Extensions.Hosting.Sqlite"] = ["Dataflow.Extensions.Hosting", "Dataflow.Sqlite"],
        ["Dataflow.Extensions.Hosting.Npgsql"] = ["Dataflow.Extensions.Hosting", "Dataflow.Npgsql"],
        ["Dataflow.OpenTelemetry"] = ["Dataflow"],
        ["Dataflow.Dashboard"] = ["Dataflow", "Dataflow.Sqlite"],
        ["Dataflow.Cli"] = ["Dataflow", "Dataflow.Sqlite", "Dataflow.Npgsql", "Dataflow.OpenTelemetry", "Dataflow.Dashboard"],
    };

    [Test]
    public void EveryPartUsesOnlyWhatItMay()
    {
        var violations = Violations(Path.Combine(RepositoryRoot(), "lib"));
        Assert.That(violations, Is.Empty, string.Join(Environment.NewLine, violations));
    }

    [Test]
    public void EveryProjectReferencesOnlyWhatItMay()
    {
        var lib = Path.Combine(RepositoryRoot(), "lib");
        var problems = new List<string>();
        foreach (var project in Directory.EnumerateFiles(lib, "*.csproj", SearchOption.AllDirectories))
        {
            var name = Path.GetFileNameWithoutExtension(project);
            var references = ProjectReference().Matches(File.ReadAllText(project)).Select(m => Path.GetFileNameWithoutExtension(m.Groups[1].Value.Replace('\\', '/'))).ToList();
            if (!Projects.TryGetValue(name, out var allowed))
            {
                problems.Add($"{name} is not listed in ArchitectureTests.Projects: say which projects it may reference.");
                continue;
            }

            problems.AddRange(references.Where(r => !allowed.Contains(r)).Select(r => $"{name} references {r}"));
        }

        Assert.That(problems, Is.Empty, string.Join(Environment.NewLine, problems));
    }

    [Test]
    public void TheCheck_FindsAForbiddenUsing_AndAQualifiedName()
    {
        var lib = Directory.CreateTempSubdirectory("dataflow-arch-");
        try
        {
            var graphs = Directory.CreateDirectory(Path.Combine(lib.FullName, "Dataflow", "Graphs", "Inputs"));
            File.WriteAllText(Path.Combine(graphs.FullName, "Bad.cs"), "using Dataflow.Engine;\nnamespace Dataflow.Graphs.Inputs;\n/// <see cref=\"Dataflow.Engine.GraphEngine\"/> is fine in a comment.\nclass Bad { }\n");
            var sqlite = Directory.CreateDirectory(Path.Combine(lib.FullName, "Dataflow.Sqlite"));
            File.WriteAllText(Path.Combine(sqlite.FullName, "Store.cs"), "namespace Dataflow.Sqlite;\nclass Store { Dataflow.Events.GraphEvent? e; }\n");
            File.WriteAllText(Path.Combine(sqlite.FullName, "Fine.cs"), "using Dataflow.Storage;\nnamespace Dataflow.Sqlite;\nclass Fine { }\n");

            var violations = Violations(lib.FullName);
            Assert.That(violations, Has.Count.EqualTo(2));
            Assert.That(violations, Has.One.Contains("Bad.cs").And.Contains("Dataflow.Graphs uses Dataflow.Engine"));
            Assert.That(violations, Has.One.Contains("Store.cs").And.Contains("Dataflow.Sqlite uses Dataflow.Events"));
        }
        finally
        {
            lib.Delete(recursive: true);
        }
    }

    /// <summary>Every use of a part of the core that its user's part may not make, as "file: A uses B".</summary>
    internal static List<string> Violations(string lib)
    {
        var violations = new List<string>();
        foreach (var file in Directory.EnumerateFiles(lib, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(lib, file).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            var part = PartOf(relative);
            if (part is null || !Allowed.TryGetValue(part, out var allowed))
            {
                continue;
            }

            var code = string.Join('\n', File.ReadLines(file).Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)));
            var used = UsingDirective().Matches(code).Select(m => m.Groups[1].Value)
                .Concat(QualifiedName().Matches(code).Select(m => m.Groups[1].Value))
                .Select(CorePartOf)
                .Where(p => p is not null && p != part && !allowed.Contains(p))
                .Distinct();
            violations.AddRange(used.Select(p => $"{relative}: {part} uses {p}"));
        }

        return violations;
    }

    /// <summary><c>Dataflow/Engine/X.cs</c> → Dataflow.Engine; <c>Dataflow/X.cs</c> → Dataflow; <c>Dataflow.Sqlite/X.cs</c> → Dataflow.Sqlite;
    /// a backend's folder listed in <see cref="Allowed"/> on its own (<c>Dataflow.Npgsql/Jobs/X.cs</c>) → that part.</summary>
    private static string? PartOf(string relative)
    {
        var segments = relative.Split('/');
        if (segments[0] != "Dataflow")
        {
            return segments.Length > 2 && Allowed.ContainsKey(segments[0] + "." + segments[1]) ? segments[0] + "." + segments[1] : segments[0];
        }

        return segments.Length == 2 ? "Dataflow" : "Dataflow." + segments[1];
    }

    private static string? CorePartOf(string name)
        => CoreParts.FirstOrDefault(p => name == p || name.StartsWith(p + ".", StringComparison.Ordinal));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dataflow.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Dataflow.sln not found above the test directory.");
    }

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(Dataflow(?:\.\w+)*)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"(?<![\w.])(Dataflow\.\w+)\.\w")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"<ProjectReference\s+Include=""([^""]+)""")]
    private static partial Regex ProjectReference();
}
