using Microsoft.Data.Sqlite;

namespace Dataflow.Cli.Tests;

/// <summary>What is wrong with a database is said precisely: locked, not a database, a directory; FTS errors speak CLI.</summary>
public sealed class StoreErrorTests : CliTestBase
{
    [Test]
    public async Task Search_InvalidFts_SaysDropFts()
    {
        await RunCliAsync("run", "--count", "1", "--db", Database);

        var result = await RunCliAsync("search", "\"unbalanced", "--fts", "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.Contain("invalid search: '\"unbalanced' is not valid FTS5 syntax").And.Contain("drop --fts"));
            Assert.That(result.Error, Does.Not.Contain("SearchOptions"));
        }
    }

    [Test]
    public async Task NotADatabase_SaysSo()
    {
        var path = WriteFile("garbage.db", new string('x', 4096));

        var read = await RunCliAsync("recent", "--db", path);
        var write = await RunCliAsync("run", "--count", "1", "--db", path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(read.Error, Does.Contain($"'{path}' is not a Dataflow session store: it is not an SQLite database"), read.ToString());
            Assert.That(write.Error, Does.Contain($"'{path}' is not a Dataflow session store: it is not an SQLite database"), write.ToString());
            Assert.That(write.Error, Does.Contain("Nothing was written to it"), write.ToString());
            Assert.That(new[] { read.ExitCode, write.ExitCode }, Is.All.EqualTo(2));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Run_OnALockedDatabase_SaysItIsLocked(CancellationToken cancellationToken)
    {
        await RunCliAsync("run", "--count", "1", "--db", Database);
        using var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Database, Pooling = false }.ToString());
        await holder.OpenAsync(cancellationToken);
        using (var exclusive = holder.CreateCommand())
        {
            exclusive.CommandText = "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;";
            await exclusive.ExecuteNonQueryAsync(cancellationToken);
        }

        var result = await RunCliAsync("run", "--count", "1", "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.Contain($"database '{Database}' is locked: another process is writing to it"));
        }
    }
}
