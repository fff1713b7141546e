namespace Quartet.Deploy.Tests.Migrations;

/// <summary>
/// The static half of expand/contract (decision 0029): the migrations this checkout adds to the previous
/// release may only expand the schema, unless a file is the marked contract step of an expand that has
/// already shipped. The rules themselves are checked on texts that must and must not pass.
/// </summary>
[Trait("Category", "Migrations")]
public sealed class ContractCheckTests
{
    [Fact]
    public async Task TheMigrationsAddedSinceThePreviousReleaseOnlyExpandTheSchema()
    {
        var release = await PreviousRelease.FindAsync(TestPaths.Repository, TestContext.Current.CancellationToken);
        var added = release.NewMigrations(TestPaths.Repository);
        TestContext.Current.SendDiagnosticMessage($"previous release {release.Commit[..10]} ({release.Why}); new migrations: {string.Join(", ", added)}");

        var problems = added.SelectMany(f => ContractCheck.Problems(f, File.ReadAllText(Path.Combine(TestPaths.Repository, "db", "migrations", f)), release.Migrations.ToHashSet())).ToList();

        Assert.True(problems.Count == 0, $"against the previous release {release.Commit[..10]} ({release.Why}):\n" + string.Join("\n", problems));
    }

    [Theory]
    [InlineData("ALTER TABLE notes DROP COLUMN body;", "DROP COLUMN")]
    [InlineData("alter table notes drop body, add column summary text;", "DROP COLUMN")]
    [InlineData("ALTER TABLE IF EXISTS ONLY notes DROP COLUMN IF EXISTS body CASCADE;", "DROP COLUMN")]
    [InlineData("DROP TABLE note_usage;", "DROP TABLE")]
    [InlineData("DROP VIEW IF EXISTS active_users;", "DROP VIEW")]
    [InlineData("ALTER TABLE notes RENAME COLUMN body TO text;", "RENAME COLUMN")]
    [InlineData("ALTER TABLE notes RENAME body TO text;", "RENAME COLUMN")]
    [InlineData("ALTER TABLE notes RENAME TO documents;", "RENAME")]
    [InlineData("ALTER TABLE notes ALTER COLUMN title TYPE varchar(100);", "TYPE")]
    [InlineData("ALTER TABLE notes ALTER title SET DATA TYPE varchar(100);", "TYPE")]
    [InlineData("ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;", "SET NOT NULL")]
    [InlineData("ALTER TABLE notes ALTER COLUMN version DROP DEFAULT;", "DROP DEFAULT")]
    [InlineData("ALTER TABLE users ADD COLUMN display_name text NOT NULL;", "without DEFAULT")]
    [InlineData("ALTER TABLE users ADD display_name text CHECK (char_length(display_name) > 0) NOT NULL;", "without DEFAULT")]
    [InlineData("-- a comment that mentions DROP TABLE users;\nCREATE TABLE t (id int);\nALTER TABLE \"notes\"\n    DROP COLUMN \"body\";", "DROP COLUMN")]
    public void ABreakingStatementIsFound(string sql, string reason)
    {
        var finding = Assert.Single(ContractCheck.Breaking(sql));

        Assert.Contains(reason, finding.Reason, StringComparison.Ordinal);
        Assert.Single(ContractCheck.Problems("0099_bad.sql", sql, ["0001_init.sql"]));
    }

    [Theory]
    [InlineData("CREATE TABLE tags (id uuid PRIMARY KEY, name text NOT NULL);")]
    [InlineData("ALTER TABLE users ADD COLUMN display_name text;")]
    [InlineData("ALTER TABLE notes ADD COLUMN bytes integer NOT NULL DEFAULT 0 CHECK (bytes >= 0);")]
    [InlineData("ALTER TABLE notes ADD COLUMN words integer GENERATED ALWAYS AS (1) STORED NOT NULL;")]
    [InlineData("ALTER TABLE notes ADD CONSTRAINT notes_title_check CHECK (title <> '') NOT VALID;")]
    [InlineData("ALTER TABLE notes DROP CONSTRAINT notes_title_check;")]
    [InlineData("ALTER TABLE notes ALTER COLUMN title DROP NOT NULL, ALTER COLUMN version SET DEFAULT 1;")]
    [InlineData("CREATE INDEX notes_title_idx ON notes (title);\nDROP INDEX notes_old_idx;")]
    [InlineData("UPDATE users SET display_name = 'DROP TABLE users' WHERE display_name IS NULL;")]
    [InlineData("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$ BEGIN EXECUTE 'x'; DROP TABLE scratch; END $body$;")]
    public void AnExpandingStatementPasses(string sql) => Assert.Empty(ContractCheck.Breaking(sql));

    [Fact]
    public void TheMigrationsInTheRepositoryAreUnderstood()
    {
        // Every shipped file that is not a marked contract step has been an expand; a rule that fires on one of them is wrong.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.Repository, "db", "migrations"), "*.sql"))
        {
            var sql = File.ReadAllText(file);
            Assert.True(ContractCheck.Completes(sql) is not null || ContractCheck.Breaking(sql).Count == 0, Path.GetFileName(file));
        }
    }

    private const string ContractStep = """
        -- contract: completes 0006_users_display_name.sql
        -- Every release since 0006 writes display_name; the oldest one serving reads it.
        ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
        ALTER TABLE users DROP COLUMN nickname;
        """;

    [Fact]
    public void AMarkedContractStepPassesOnceItsExpandHasShipped()
    {
        Assert.Equal("0006_users_display_name.sql", ContractCheck.Completes(ContractStep));
        Assert.Equal(2, ContractCheck.Breaking(ContractStep).Count);

        Assert.Empty(ContractCheck.Problems("0009_users_contract.sql", ContractStep, ["0005_x.sql", "0006_users_display_name.sql"]));
    }

    [Fact]
    public void AMarkedContractStepFailsWhileItsExpandShipsInTheSameRelease()
    {
        var problem = Assert.Single(ContractCheck.Problems("0009_users_contract.sql", ContractStep, ["0005_x.sql"]));

        Assert.Contains("does not have 0006_users_display_name.sql", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AMarkerInsideAStatementOrWithoutAFileNameIsNoMarker()
    {
        Assert.Null(ContractCheck.Completes("ALTER TABLE users DROP COLUMN nickname; -- contract: completes 0006_users_display_name.sql"));
        Assert.Null(ContractCheck.Completes("-- contract: completes the nickname change\nALTER TABLE users DROP COLUMN nickname;"));
    }
}
