using System.Globalization;

namespace Router.Deploy.Tests;

/// <summary>The router unit gives the process the open files its default connection limits need.</summary>
public sealed class RouterOpenFilesTests
{
    // The router's default --tcp-max-connections, and what it keeps for itself (src/Router/Hosting/FileDescriptorBudget.cs).
    private const int DefaultTcpMaxConnections = 10_000;
    private const int Reserved = 256;

    [Fact]
    public void RouterUnit_OpenFiles_CarryTheDefaultTcpLimit_ContainerGetsTheSame()
    {
        var unit = UnitFile.Parse(UnitsFolder.Read("router.service"));
        var run = UnitFile.Words(unit.Value("Service", "ExecStart")!);
        var limit = long.Parse(unit.Value("Service", "LimitNOFILE")!, CultureInfo.InvariantCulture);

        // The container does not inherit the unit's limit from the docker client: --ulimit sets it.
        Assert.Equal($"nofile={limit}:{limit}", UnitFileTests.OptionAfter(run, "--ulimit"));

        // A quarter of what is above the reserve goes to TCP relays (2 descriptors each).
        Assert.True((limit - Reserved) / 4 >= DefaultTcpMaxConnections, $"LimitNOFILE={limit} cannot carry {DefaultTcpMaxConnections} relays");
    }
}
