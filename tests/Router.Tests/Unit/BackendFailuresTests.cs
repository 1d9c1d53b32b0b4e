using System.Net.Sockets;
using Router.Routing;
using Router.Routing.Direct;
using Xunit;
using Yarp.ReverseProxy.Forwarder;

namespace Router.Tests;

/// <summary>
/// The one mapping of backend failure reasons: each reason's status, its router_direct_backend_errors_total label
/// and its log words, and how each forwarding path's errors become reasons.
/// </summary>
public sealed class BackendFailuresTests
{
    /// <summary>reason, status, counter label ("" for not counted), what the log line says for the detail "DETAIL".</summary>
    private static readonly (BackendFailure Failure, int Status, string Label, string LogReason)[] Table =
    [
        (BackendFailure.ConnectFailed, 503, "", "DETAIL"),
        (BackendFailure.Protocol, 502, "protocol", "DETAIL"),
        (BackendFailure.ConnectionBroken, 502, "connection", "DETAIL"),
        (BackendFailure.Timeout, 504, "timeout", "Timeout"),
        (BackendFailure.Retired, 502, "", "Retired"),
    ];

    [Fact]
    public void Every_reason_has_a_row_in_the_table()
    {
        Assert.Equal(Enum.GetValues<BackendFailure>(), Table.Select(row => row.Failure));
    }

    [Fact]
    public void Each_reason_maps_to_its_status_label_and_log_words()
    {
        foreach (var (failure, status, label, logReason) in Table)
        {
            Assert.Equal((failure, status), (failure, BackendFailures.StatusCode(failure)));
            Assert.Equal((failure, label), (failure, BackendFailures.CounterLabel(failure) ?? ""));
            Assert.Equal((failure, logReason), (failure, BackendFailures.LogReason(failure, "DETAIL")));
        }
    }

    [Fact]
    public void Metrics_list_the_counted_reasons_in_the_order_they_always_had()
    {
        Assert.Equal(["protocol", "connection", "timeout"], BackendFailures.Counted.Select(BackendFailures.CounterLabel));
    }

    [Fact]
    public void A_reason_outside_the_enum_is_refused_not_mapped_to_a_guess()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BackendFailures.StatusCode((BackendFailure)99));
        Assert.Throws<ArgumentOutOfRangeException>(() => BackendFailures.CounterLabel((BackendFailure)99));
        Assert.Throws<ArgumentOutOfRangeException>(() => BackendFailures.LogReason((BackendFailure)99, "x"));
    }

    [Fact]
    public void Direct_path_the_routers_own_cut_wins_over_what_broke_after_it()
    {
        var io = new IOException("the backend closed the connection without answering");
        var malformed = new BackendProtocolException("bad status line");

        Assert.Equal(BackendFailure.ConnectionBroken, DirectForwarder.Classify(AbortReason.None, io));
        Assert.Equal(BackendFailure.ConnectionBroken, DirectForwarder.Classify(AbortReason.None, new SocketException((int)SocketError.ConnectionReset)));
        Assert.Equal(BackendFailure.Protocol, DirectForwarder.Classify(AbortReason.None, malformed));
        Assert.Equal(BackendFailure.Timeout, DirectForwarder.Classify(AbortReason.Timeout, io));
        Assert.Equal(BackendFailure.Timeout, DirectForwarder.Classify(AbortReason.Timeout, malformed));
        Assert.Equal(BackendFailure.Retired, DirectForwarder.Classify(AbortReason.Retired, new ObjectDisposedException("socket")));
    }

    [Fact]
    public void Yarp_a_connection_error_anywhere_in_the_chain_is_a_connect_failure()
    {
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (127.0.0.1:1)", new SocketException((int)SocketError.ConnectionRefused));

        Assert.Equal(BackendFailure.ConnectFailed, BackendFailures.FromYarp(ForwarderError.Request, refused));
        Assert.Equal(BackendFailure.ConnectFailed, BackendFailures.FromYarp(ForwarderError.Request, new InvalidOperationException("wrapped", refused)));
        Assert.Equal(BackendFailure.ConnectionBroken, BackendFailures.FromYarp(ForwarderError.Request, new HttpRequestException(HttpRequestError.ResponseEnded, "ended")));
        Assert.Equal(BackendFailure.ConnectionBroken, BackendFailures.FromYarp(ForwarderError.Request, null));

        // Not the request phase: a connection error there is no connect failure, nothing may be sent again.
        Assert.Null(BackendFailures.FromYarp(ForwarderError.ResponseBodyDestination, refused));
    }

    [Fact]
    public void Yarp_each_error_maps_to_the_reason_whose_status_yarp_answers()
    {
        foreach (var error in Enum.GetValues<ForwarderError>())
        {
            var failure = BackendFailures.FromYarp(error, null);
            switch (error)
            {
                case ForwarderError.Request:
                    // YARP answers 502 (Bad Gateway) for a failed request phase.
                    Assert.Equal(BackendFailure.ConnectionBroken, failure);
                    Assert.Equal(502, BackendFailures.StatusCode(failure!.Value));
                    break;
                case ForwarderError.RequestTimedOut:
                    // YARP answers 504 (Gateway Timeout) when the activity timeout ends the request phase.
                    Assert.Equal(BackendFailure.Timeout, failure);
                    Assert.Equal(504, BackendFailures.StatusCode(failure!.Value));
                    break;
                default:
                    Assert.True(failure is null, $"{error} maps to {failure}: YARP handles it alone");
                    break;
            }
        }
    }
}
