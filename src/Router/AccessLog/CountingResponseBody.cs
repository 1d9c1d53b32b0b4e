using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Router.AccessLog;

/// <summary>
/// The response body feature with a count of the body bytes written, through either of its faces: the
/// direct path writes to the <see cref="Writer"/>, YARP to the <see cref="Stream"/>. Installed only while
/// the access log is on.
/// </summary>
internal sealed class CountingResponseBody(IHttpResponseBodyFeature inner) : IHttpResponseBodyFeature
{
    private long _bytes;
    private CountingStream? _stream;
    private CountingWriter? _writer;

    public long Bytes => Interlocked.Read(ref _bytes);

    public Stream Stream => _stream ??= new CountingStream(inner.Stream, this);

    public PipeWriter Writer => _writer ??= new CountingWriter(inner.Writer, this);

    public void DisableBuffering() => inner.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        Add(count ?? new FileInfo(path).Length - offset);
        return inner.SendFileAsync(path, offset, count, cancellationToken);
    }

    public Task CompleteAsync() => inner.CompleteAsync();

    private void Add(long count) => Interlocked.Add(ref _bytes, count);

    private sealed class CountingWriter(PipeWriter inner, CountingResponseBody owner) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            owner.Add(bytes);
            inner.Advance(bytes);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            owner.Add(source.Length);
            return inner.WriteAsync(source, cancellationToken);
        }
    }

    private sealed class CountingStream(Stream inner, CountingResponseBody owner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            owner.Add(count);
            inner.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            owner.Add(buffer.Length);
            inner.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            owner.Add(count);
            return inner.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            owner.Add(buffer.Length);
            return inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
