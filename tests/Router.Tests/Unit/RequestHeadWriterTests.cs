using System.Net;
using System.Text;
using Router.Routing.Direct;

namespace Router.Tests;

public sealed class RequestHeadWriterTests
{
    [Fact]
    public void Append_PastItsCapacity_GrowsAndKeepsEveryByte()
    {
        var writer = new RequestHeadWriter(8);
        var value = new string('v', 700);

        writer.Append("HTTP/1.1 200 OK\r\n"u8);
        writer.AppendHeader("X-Long", value);
        writer.Append(IPAddress.Parse("2001:db8::1"));

        Assert.Equal($"HTTP/1.1 200 OK\r\nX-Long: {value}\r\n2001:db8::1", Encoding.Latin1.GetString(writer.Written.Span));
    }

    [Fact]
    public void Reset_StartsOverInTheSameBuffer()
    {
        var writer = new RequestHeadWriter(16);
        writer.Append("first head, longer than sixteen"u8);

        writer.Reset();
        writer.Append("second"u8);

        Assert.Equal("second", Encoding.Latin1.GetString(writer.Written.Span));
    }

    [Fact]
    public void Pooled_GrowsAcrossRentedBuffers_KeepsEveryByte_AndReleaseEmptiesIt()
    {
        var writer = RequestHeadWriter.Pooled();
        Assert.True(writer.Written.IsEmpty);
        var value = new string('v', 3000);

        writer.Append("HTTP/1.1 200 OK\r\n"u8);
        writer.AppendHeader("X-Long", value);
        writer.Append(IPAddress.Parse("2001:db8::1"));
        Assert.Equal($"HTTP/1.1 200 OK\r\nX-Long: {value}\r\n2001:db8::1", Encoding.Latin1.GetString(writer.Written.Span));

        writer.Release();
        Assert.True(writer.Written.IsEmpty);

        // Used again after a release: a new buffer, nothing of the last head in what it wrote.
        writer.Append("HTTP/1.1 204 No Content\r\n"u8);
        Assert.Equal("HTTP/1.1 204 No Content\r\n", Encoding.Latin1.GetString(writer.Written.Span));
        writer.Release();
        writer.Release();
    }
}
