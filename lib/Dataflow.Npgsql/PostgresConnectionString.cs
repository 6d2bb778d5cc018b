using System.Globalization;
using Npgsql;

namespace Dataflow.Npgsql;

/// <summary>
/// Reads a connection string in either of PostgreSQL's forms: a URI (<c>postgresql://user:password@host:5432/db?sslmode=require</c>,
/// as libpq and most hosting providers give it) or Npgsql's keywords (<c>Host=…;Database=…</c>).
/// </summary>
public static class PostgresConnectionString
{
    /// <summary>Whether <paramref name="text"/> looks like a PostgreSQL connection string rather than a file path: a
    /// <c>postgresql://</c> or <c>postgres://</c> URI, or keywords that name a <c>Host</c> or <c>Server</c>.</summary>
    /// <param name="text">What a user gave.</param>
    /// <returns>True for a connection string.</returns>
    public static bool IsConnectionString(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var trimmed = text.TrimStart();
        if (trimmed.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var part in trimmed.Split(';'))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && part[..equals].Trim() is var key && (key.Equals("Host", StringComparison.OrdinalIgnoreCase) || key.Equals("Server", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Turns either form into Npgsql's keyword form.</summary>
    /// <param name="connectionString">A <c>postgresql://</c> URI or Npgsql keywords.</param>
    /// <returns>The keyword form.</returns>
    /// <exception cref="ArgumentException">The text is neither, or names an unknown parameter; the message names it (never the password).</exception>
    public static string ToNpgsql(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var text = connectionString.Trim();
        if (!(text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)))
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(text).ConnectionString;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
            {
                throw new ArgumentException($"Not a PostgreSQL connection string: {ex.Message} Give a postgresql://user@host/database URI or Npgsql keywords such as Host=localhost;Database=dataflow.", nameof(connectionString), ex);
            }
        }

        return FromUri(text);
    }

    private static string FromUri(string text)
    {
        // The authority may hold several hosts (h1:5432,h2:5433), which System.Uri refuses, so the URI is split by hand.
        var rest = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var query = string.Empty;
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash >= 0 ? rest[..slash] : rest;
        var database = slash >= 0 ? Decode(rest[(slash + 1)..]) : string.Empty;
        var builder = new NpgsqlConnectionStringBuilder();
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Decode(colon >= 0 ? userInfo[..colon] : userInfo);
            if (colon >= 0)
            {
                builder.Password = Decode(userInfo[(colon + 1)..]);
            }
        }

        if (authority.Length > 0)
        {
            var hosts = new List<(string Host, string Port)>();
            foreach (var hostPort in authority.Split(','))
            {
                // [::1]:5432, host:5432 or host
                var host = hostPort;
                var port = string.Empty;
                var close = hostPort.LastIndexOf(']');
                var colon = hostPort.LastIndexOf(':');
                if (colon > close)
                {
                    host = hostPort[..colon];
                    port = hostPort[(colon + 1)..];
                }

                host = Decode(host.Trim('[', ']'));
                if (port.Length > 0 && !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    throw new ArgumentException($"The port '{port}' of the PostgreSQL URI is not a number.", "connectionString");
                }

                hosts.Add((host, port));
            }

            if (hosts is [var (single, singlePort)])
            {
                builder.Host = single;
                if (singlePort.Length > 0)
                {
                    builder.Port = int.Parse(singlePort, NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }
            else
            {
                builder.Host = string.Join(',', hosts.Select(h => h.Port.Length > 0 ? $"{h.Host}:{h.Port}" : h.Host));
            }
        }

        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Decode(equals >= 0 ? pair[..equals] : pair);
            var value = equals >= 0 ? Decode(pair[(equals + 1)..]) : string.Empty;
            switch (key)
            {
                case "host": builder.Host = value; break;
                case "port": builder.Port = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : throw new ArgumentException($"The port '{value}' of the PostgreSQL URI is not a number.", "connectionString"); break;
                case "user": builder.Username = value; break;
                case "password": builder.Password = value; break;
                case "dbname": builder.Database = value; break;
                case "sslmode": builder["SSL Mode"] = value; break;
                case "application_name": builder.ApplicationName = value; break;
                case "connect_timeout": builder["Timeout"] = value; break;
                case "options": builder.Options = value; break;
                default:
                    // Npgsql's own keywords pass through (Pooling=false, Maximum Pool Size=…); anything else is refused by name.
                    try
                    {
                        builder[key] = value;
                    }
                    catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
                    {
                        throw new ArgumentException($"The PostgreSQL URI has a parameter '{key}' that is neither a libpq parameter Dataflow knows (host, port, user, password, dbname, sslmode, application_name, connect_timeout, options) nor an Npgsql keyword.", "connectionString", ex);
                    }

                    break;
            }
        }

        return builder.ConnectionString;
    }

    private static string Decode(string text) => Uri.UnescapeDataString(text);
}
