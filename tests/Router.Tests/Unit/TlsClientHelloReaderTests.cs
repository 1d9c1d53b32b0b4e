using System.Buffers;
using System.Net.Security;
using Router.Tls;

namespace Router.Tests;

/// <summary>The ClientHello peek: real ClientHellos from SslStream, whole, cut short, fragmented, and bad input.</summary>
public sealed class TlsClientHelloReaderTests
{
    [Fact]
    public async Task TryRead_WholeClientHello_CompleteWithServerName()
    {
        var hello = await CaptureClientHelloAsync("mq.example.com");

        Assert.Equal(ClientHelloStatus.Complete, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello), out var name));
        Assert.Equal("mq.example.com", name);
    }

    [Fact]
    public async Task TryRead_EveryShorterPrefix_Incomplete()
    {
        var hello = await CaptureClientHelloAsync("mq.example.com");

        for (var length = 0; length < hello.Length; length++)
        {
            Assert.Equal(ClientHelloStatus.Incomplete, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello, 0, length), out _));
        }
    }

    [Fact]
    public async Task TryRead_NoServerName_CompleteWithoutName()
    {
        var hello = await CaptureClientHelloAsync("127.0.0.1");

        Assert.Equal(ClientHelloStatus.Complete, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello), out var name));
        Assert.Null(name);
    }

    [Fact]
    public async Task TryRead_SplitOverThreeRecords_JoinedAndComplete()
    {
        var hello = await CaptureClientHelloAsync("mq.example.com");

        Assert.Equal(ClientHelloStatus.Complete, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(Fragment(hello, 3)), out var name));
        Assert.Equal("mq.example.com", name);
    }

    [Fact]
    public async Task TryRead_SplitOverTooManyRecords_TooLarge()
    {
        var hello = await CaptureClientHelloAsync("mq.example.com");

        Assert.Equal(ClientHelloStatus.TooLarge, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(Fragment(hello, ClientHelloReader.MaxRecords + 1)), out _));
    }

    [Theory]
    [InlineData(new byte[] { (byte)'G' })]
    [InlineData(new byte[] { 22, 2 })]
    [InlineData(new byte[] { 23, 3, 3, 0, 1, 0 })]
    [InlineData(new byte[] { 22, 3, 1, 0, 0 })]
    [InlineData(new byte[] { 22, 3, 1, 0x40, 1 })]
    [InlineData(new byte[] { 22, 3, 1, 0, 4, 2, 0, 0, 0 })]
    public void TryRead_NotATlsClientHello_NotTls(byte[] bytes)
    {
        Assert.Equal(ClientHelloStatus.NotTls, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(bytes), out _));
    }

    [Fact]
    public void TryRead_ClientHelloAnnouncedLargerThanTheCap_TooLarge()
    {
        byte[] bytes = [22, 3, 1, 0, 4, 1, 0, 0x40, 1];

        Assert.Equal(ClientHelloStatus.TooLarge, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(bytes), out _));
    }

    [Fact]
    public async Task TryRead_MalformedBody_NoServerNameSoNeverRelayed()
    {
        var hello = await CaptureClientHelloAsync("mq.example.com");

        // The extensions' length made to run past the end of the message.
        var broken = hello.ToArray();
        for (var i = 5 + 4 + 2 + 32; i < broken.Length; i++)
        {
            broken[i] = 0xff;
        }

        // TlsFrameHelper gives up on the body without failing the frame: no name, so no tls service is chosen
        // and the router's own TLS refuses the handshake.
        var status = ClientHelloReader.TryRead(new ReadOnlySequence<byte>(broken), out var name);
        Assert.True(status is ClientHelloStatus.NotTls or ClientHelloStatus.Complete, status.ToString());
        Assert.Null(name);
    }

    /// <summary>The same handshake message re-cut into <paramref name="records"/> records.</summary>
    private static byte[] Fragment(byte[] hello, int records)
    {
        var message = hello.AsSpan(5).ToArray();
        var size = (message.Length + records - 1) / records;
        var output = new List<byte>();
        for (var offset = 0; offset < message.Length; offset += size)
        {
            var part = message.AsSpan(offset, Math.Min(size, message.Length - offset));
            output.AddRange([22, hello[1], hello[2], (byte)(part.Length >> 8), (byte)part.Length]);
            output.AddRange(part.ToArray());
        }

        return [.. output];
    }

    /// <summary>The first record a real SslStream client sends for <paramref name="targetHost"/>.</summary>
    private static async Task<byte[]> CaptureClientHelloAsync(string targetHost)
    {
        var capture = new CaptureStream();
        await using var tls = new SslStream(capture);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = targetHost });
        }
        catch (IOException)
        {
            // The capture ends the handshake after the ClientHello.
        }

        var bytes = capture.Written.ToArray();
        var length = 5 + ((bytes[3] << 8) | bytes[4]);
        return bytes[..length];
    }

    /// <summary>Records what is written; every read fails, which ends the handshake after its first flight.</summary>
    private sealed class CaptureStream : Stream
    {
        public MemoryStream Written { get; } = new();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("captured");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => throw new IOException("captured");

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
    }
}
