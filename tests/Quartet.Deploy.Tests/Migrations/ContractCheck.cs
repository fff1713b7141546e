using System.Text;
using System.Text.RegularExpressions;

namespace Quartet.Deploy.Tests.Migrations;

/// <summary>One statement of a migration that the release before it cannot live with, and why.</summary>
public sealed record ContractFinding(string Statement, string Reason);

/// <summary>
/// Reads a migration for the statements that break the release still serving during a rolling upgrade
/// (decision 0029): dropping or renaming what its code reads, changing a column's type, or making a
/// column required that its INSERTs leave out. A file whose first lines say
/// <c>-- contract: completes NNNN_name.sql</c> is the contract step of an expand released earlier and
/// may do these things; the file it names must exist and be older.
/// </summary>
public static partial class ContractCheck
{
    public static IReadOnlyList<ContractFinding> Breaking(string sql)
    {
        var findings = new List<ContractFinding>();
        foreach (var statement in Statements(sql))
        {
            var text = Spaces().Replace(statement, " ").Trim();
            void Add(string reason) => findings.Add(new(text.Length > 160 ? text[..160] + "…" : text, reason));

            if (DropObject().Match(text) is { Success: true } drop)
            {
                Add($"DROP {drop.Groups[1].Value.ToUpperInvariant()}: the previous release may still read it");
                continue;
            }
            if (RenameObject().IsMatch(text))
            {
                Add("RENAME: the previous release still uses the old name");
                continue;
            }
            if (AlterTable().Match(text) is not { Success: true } alter)
            {
                continue;
            }
            foreach (var action in TopLevel(alter.Groups[1].Value, ','))
            {
                var a = action.Trim();
                if (DropColumn().IsMatch(a))
                {
                    Add("DROP COLUMN: the previous release still reads or writes it");
                }
                else if (RenameColumn().IsMatch(a))
                {
                    Add("RENAME COLUMN: the previous release still uses the old name");
                }
                else if (ChangeType().IsMatch(a))
                {
                    Add("ALTER COLUMN … TYPE: the previous release reads and writes the old type");
                }
                else if (SetNotNull().IsMatch(a))
                {
                    Add("SET NOT NULL: the previous release may write rows without the column");
                }
                else if (DropDefault().IsMatch(a))
                {
                    Add("DROP DEFAULT: the previous release may rely on the default when it inserts");
                }
                else if (AddColumn().Match(a) is { Success: true } add && NotNull().IsMatch(add.Groups[1].Value)
                    && !DefaultOrGenerated().IsMatch(add.Groups[1].Value))
                {
                    Add("ADD COLUMN … NOT NULL without DEFAULT: the previous release's INSERTs leave the column out");
                }
            }
        }
        return findings;
    }

    /// <summary>The migration this file says it completes (<c>-- contract: completes NNNN_name.sql</c>), or null.</summary>
    public static string? Completes(string sql) => Marker().Match(sql) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>Why the file is refused, or nothing: its breaking statements, unless it is a contract step whose expand shipped earlier.</summary>
    public static IReadOnlyList<string> Problems(string fileName, string sql, IReadOnlyCollection<string> released)
    {
        var findings = Breaking(sql);
        if (findings.Count == 0)
        {
            return [];
        }
        if (Completes(sql) is { } expand)
        {
            if (released.Contains(expand))
            {
                return [];
            }
            return [$"{fileName} says it completes {expand}, but the previous release does not have {expand}: ship the expand in one release and the contract in a later one"];
        }
        return [.. findings.Select(f => $"{fileName}: {f.Reason}: {f.Statement}")];
    }

    /// <summary>The statements, with comments and the insides of quoted text and dollar-quoted bodies blanked out.</summary>
    private static IEnumerable<string> Statements(string sql) => TopLevel(StripQuoted(sql), ';').Where(s => !string.IsNullOrWhiteSpace(s));

    private static string StripQuoted(string sql)
    {
        var output = new StringBuilder(sql.Length);
        var i = 0;
        while (i < sql.Length)
        {
            if (sql[i] == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var end = sql.IndexOf('\n', i);
                i = end < 0 ? sql.Length : end;
            }
            else if (sql[i] == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 2;
                output.Append(' ');
            }
            else if (sql[i] is '\'' or '"')
            {
                var quote = sql[i];
                var end = sql.IndexOf(quote, i + 1);
                var inner = end < 0 ? sql[(i + 1)..] : sql[(i + 1)..end];
                // Quoted identifiers keep their name (ALTER TABLE "notes" DROP ...); text literals do not.
                output.Append(quote == '"' ? inner : "''");
                i = end < 0 ? sql.Length : end + 1;
            }
            else if (sql[i] == '$' && DollarTag().Match(sql, i) is { Success: true } tag && tag.Index == i)
            {
                var end = sql.IndexOf(tag.Value, i + tag.Length, StringComparison.Ordinal);
                output.Append("$$");
                i = end < 0 ? sql.Length : end + tag.Length;
            }
            else
            {
                output.Append(sql[i]);
                i++;
            }
        }
        return output.ToString();
    }

    /// <summary>Splits on <paramref name="separator"/> outside parentheses.</summary>
    private static IEnumerable<string> TopLevel(string text, char separator)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            depth += text[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (text[i] == separator && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"^DROP (TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE|TYPE|FUNCTION|SCHEMA)\b", RegexOptions.IgnoreCase)]
    private static partial Regex DropObject();

    [GeneratedRegex(@"^ALTER (TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE|TYPE|FUNCTION)\b.*\bRENAME TO\b", RegexOptions.IgnoreCase)]
    private static partial Regex RenameObject();

    [GeneratedRegex(@"^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?\S+ (.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex AlterTable();

    [GeneratedRegex(@"^DROP (COLUMN )?(?!CONSTRAINT\b)", RegexOptions.IgnoreCase)]
    private static partial Regex DropColumn();

    [GeneratedRegex(@"^RENAME (COLUMN )?(?!CONSTRAINT\b)", RegexOptions.IgnoreCase)]
    private static partial Regex RenameColumn();

    [GeneratedRegex(@"^ALTER (COLUMN )?\S+ (SET DATA )?TYPE\b", RegexOptions.IgnoreCase)]
    private static partial Regex ChangeType();

    [GeneratedRegex(@"^ALTER (COLUMN )?\S+ SET NOT NULL\b", RegexOptions.IgnoreCase)]
    private static partial Regex SetNotNull();

    [GeneratedRegex(@"^ALTER (COLUMN )?\S+ DROP DEFAULT\b", RegexOptions.IgnoreCase)]
    private static partial Regex DropDefault();

    [GeneratedRegex(@"^ADD (?:COLUMN )?(?:IF NOT EXISTS )?(?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|CHECK\b|FOREIGN\b|EXCLUDE\b)(\S+ .*)$", RegexOptions.IgnoreCase)]
    private static partial Regex AddColumn();

    [GeneratedRegex(@"\bNOT NULL\b|\bPRIMARY KEY\b", RegexOptions.IgnoreCase)]
    private static partial Regex NotNull();

    [GeneratedRegex(@"\bDEFAULT\b|\bGENERATED\b", RegexOptions.IgnoreCase)]
    private static partial Regex DefaultOrGenerated();

    [GeneratedRegex(@"\$[A-Za-z_]*\$")]
    private static partial Regex DollarTag();

    [GeneratedRegex(@"^--\s*contract:\s*completes\s+(\d{4}_[a-z0-9_]+\.sql)\s*$", RegexOptions.Multiline)]
    private static partial Regex Marker();
}
