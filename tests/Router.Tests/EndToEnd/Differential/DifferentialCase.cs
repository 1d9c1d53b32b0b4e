using System.Text;

namespace Router.Tests.Differential;

/// <summary>
/// One row of the differential suite: a raw request (with <c>{case}</c> where the marker goes), the scripted
/// raw response the backend sends, and the intended differences from HAProxy, for both router paths or for
/// one. <see cref="Check"/> holds what must hold on the router's paths whatever HAProxy does.
/// </summary>
public sealed record DifferentialCase(string Name, string Request, string Response)
{
    public bool Head { get; init; }

    /// <summary>The backend closes the connection after its response.</summary>
    public bool CloseAfter { get; init; }

    /// <summary>Differences from HAProxy on both router paths.</summary>
    public IntendedDifference[] Both { get; init; } = [];

    /// <summary>Differences from HAProxy through YARP only.</summary>
    public IntendedDifference[] YarpOnly { get; init; } = [];

    /// <summary>Assertions on the router's observation (either path).</summary>
    public Action<Observation>? Check { get; init; }

    public byte[] RequestBytes(string marker) => Encoding.Latin1.GetBytes(Request.Replace("{case}", marker, StringComparison.Ordinal));

    public override string ToString() => Name;
}
