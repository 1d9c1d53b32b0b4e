namespace Router.Deploy.Tests;

/// <summary>What a <c>&lt;!-- doc-test: … --&gt;</c> marker asks of the block after it (see <see cref="DocRunTests"/>).</summary>
internal enum DocBlockAction
{
    /// <summary>No marker, or one that is not understood.</summary>
    None,

    /// <summary><c>run</c>: executed; every command must succeed.</summary>
    Run,

    /// <summary><c>serve until: CMD</c>: a long-running command, started, then stopped once CMD succeeds.</summary>
    Serve,

    /// <summary><c>not run: REASON</c>: only syntax-checked, for the reason given.</summary>
    NotRun,

    /// <summary><c>output</c>: a text block that the run block before it must print.</summary>
    Output,
}
