namespace Dataflow.Npgsql;

/// <summary>How the text of a search is read.</summary>
public enum SearchSyntax
{
    /// <summary>Plain text: every word must occur; every character is literal except a trailing <c>*</c> on a word, which
    /// makes it a prefix. Never a syntax error (each word goes to <c>plainto_tsquery</c> as a parameter).</summary>
    Plain,

    /// <summary>Web-search syntax (<c>websearch_to_tsquery</c>): <c>"quoted phrases"</c>, <c>or</c>, <c>-word</c> to exclude.
    /// Never a syntax error: what it cannot read it ignores.</summary>
    Web,

    /// <summary>Raw PostgreSQL tsquery syntax (<c>to_tsquery</c>): <c>&amp;</c>, <c>|</c>, <c>!</c>, <c>&lt;-&gt;</c>,
    /// <c>word:*</c>. A malformed query throws <see cref="InvalidSearchQueryException"/>.</summary>
    TsQuery,
}

/// <summary>How <see cref="PostgresSessionHistory.SearchAsync"/> searches and filters.</summary>
public sealed class SearchOptions
{
    /// <summary>The most hits to return.</summary>
    /// <value>The default value is 20.</value>
    public int Limit { get; set; } = 20;

    /// <summary>Orders hits by relevance (<c>ts_rank</c>, best first, newest first among equals) instead of newest first.</summary>
    /// <value>The default value is <see langword="false"/>: newest first.</value>
    public bool Rank { get; set; }

    /// <summary>How the query text is read.</summary>
    /// <value>The default value is <see cref="SearchSyntax.Plain"/>.</value>
    public SearchSyntax Syntax { get; set; }

    /// <summary>Only hits from this session.</summary>
    /// <value>The default value is null: every session.</value>
    public string? SessionId { get; set; }

    /// <summary>Only hits on this channel.</summary>
    /// <value>The default value is null: every channel.</value>
    public string? Channel { get; set; }

    /// <summary>Only hits of this run (its indexed run id).</summary>
    /// <value>The default value is null: every run, and entries of no run.</value>
    public string? RunId { get; set; }

    /// <summary>Only hits of this lifecycle event kind, such as <c>transition</c> or <c>fail</c> (case-insensitive).</summary>
    /// <value>The default value is null: every kind, and entries that are not events.</value>
    public string? Event { get; set; }

    /// <summary>Only hits recorded at or after this time.</summary>
    /// <value>The default value is null: no lower bound.</value>
    public DateTimeOffset? Since { get; set; }

    /// <summary>Only hits recorded at or before this time.</summary>
    /// <value>The default value is null: no upper bound.</value>
    public DateTimeOffset? Until { get; set; }

    /// <summary>The text put before a matched word in <see cref="StoreEntry.Snippet"/>.</summary>
    /// <value>The default value is <c>[</c>.</value>
    public string HighlightStart { get; set; } = "[";

    /// <summary>The text put after a matched word in <see cref="StoreEntry.Snippet"/>.</summary>
    /// <value>The default value is <c>]</c>.</value>
    public string HighlightEnd { get; set; } = "]";
}
