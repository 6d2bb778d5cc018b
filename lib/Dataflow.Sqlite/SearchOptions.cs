namespace Dataflow.Sqlite;

/// <summary>How <see cref="SessionStore.Search"/> searches and filters.</summary>
public sealed class SearchOptions
{
    /// <summary>The most hits to return.</summary>
    /// <value>The default value is 20.</value>
    public int Limit { get; set; } = 20;

    /// <summary>Orders hits by relevance (FTS5 bm25, best first) instead of newest first.</summary>
    /// <value>The default value is <see langword="false"/>: newest first, which stops at <see cref="Limit"/> without ranking every match.</value>
    public bool Rank { get; set; }

    /// <summary>
    /// Treats the query as raw FTS5 syntax (<c>AND</c>, <c>OR</c>, <c>NOT</c>, <c>NEAR</c>, quotes, <c>prefix*</c>, <c>^</c>).
    /// A malformed query then throws <see cref="InvalidSearchQueryException"/>.
    /// </summary>
    /// <value>
    /// The default value is <see langword="false"/>: the query is plain text, searched as terms that must all occur;
    /// every character is literal except a trailing <c>*</c> on a term, which makes it a prefix.
    /// </value>
    public bool Fts { get; set; }

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

    /// <summary>The text put before a matched term in <see cref="StoreEntry.Snippet"/>.</summary>
    /// <value>The default value is <c>[</c>.</value>
    public string HighlightStart { get; set; } = "[";

    /// <summary>The text put after a matched term in <see cref="StoreEntry.Snippet"/>.</summary>
    /// <value>The default value is <c>]</c>.</value>
    public string HighlightEnd { get; set; } = "]";
}
