namespace Router.Tcp;

/// <summary>One host_port listener as <c>/status</c> shows it.</summary>
/// <param name="State"><c>listening</c>, <c>draining</c> or <c>failed</c>.</param>
/// <param name="Connections">Open TCP connections, or HTTP requests in flight.</param>
internal sealed record PortListenerStatus(int Port, string Service, string Kind, string State, int Connections, string? Error);
