using System.Net;
using System.Net.Sockets;
using System.Text;
using Router.Dns.Wire;
using Router.Registry.Model;

namespace Router.Dns.Responding;

/// <summary>
/// The zone we own (<c>local</c> by default): every name in it exists and has the answer address; SRV names
/// come from the registry's host ports. Answers are written straight after the echoed question and point
/// back into it, so they cost a copy and a few bytes.
/// </summary>
internal sealed class LocalZone
{
    private const uint Refresh = 3600;
    private const uint Retry = 600;
    private const uint Expire = 86_400;

    private static readonly byte[] NsLabel = "ns"u8.ToArray();
    private static readonly byte[] HostmasterLabel = "hostmaster"u8.ToArray();
    private static readonly byte[] TcpLabel = "_tcp"u8.ToArray();

    private readonly byte[] _zone;
    private readonly byte[] _address;
    private readonly ushort _addressType;
    private readonly uint _ttl;
    private readonly Func<RegistrySnapshot> _snapshot;

    public LocalZone(string zone, IPAddress answer, int ttl, Func<RegistrySnapshot> snapshot)
    {
        _zone = DnsName.ToWire(zone);
        if (answer.IsIPv4MappedToIPv6)
        {
            answer = answer.MapToIPv4();
        }

        _address = answer.GetAddressBytes();

        // The answer address decides the record that carries it; the other family gets NODATA.
        _addressType = answer.AddressFamily == AddressFamily.InterNetwork ? DnsRecordType.A : DnsRecordType.Aaaa;
        _ttl = (uint)Math.Max(ttl, 0);
        _snapshot = snapshot;
    }

    public bool Contains(ReadOnlySpan<byte> name, out int prefixLength) => DnsName.IsAtOrBelow(name, _zone, out prefixLength);

    /// <summary>Writes the whole answer into <paramref name="response"/>; the caller truncates if the client's limit is lower.</summary>
    public int Answer(ReadOnlySpan<byte> query, in DnsQuery parsed, int prefixLength, Span<byte> response)
    {
        var question = parsed.Question;
        query[..question.End].CopyTo(response);
        var writer = new DnsMessageWriter(response, question.End);

        // The zone's own name, inside the echoed question: every owner and target below points at it.
        var zonePointer = question.NameOffset + prefixLength;
        var isApex = prefixLength == 0;
        var answers = 0;
        var additional = 0;
        var responseCode = DnsResponseCode.NoError;
        var complete = true;

        if (question.Class is not (DnsClass.In or DnsClass.Any))
        {
            responseCode = DnsResponseCode.Refused;
        }
        else if (question.Type == _addressType || question.Type == DnsRecordType.Any)
        {
            complete &= TryWriteAddress(ref writer, question.NameOffset);
            answers++;
        }
        else if (isApex && question.Type == DnsRecordType.Soa)
        {
            complete &= TryWriteSoa(ref writer, zonePointer);
            answers++;
        }
        else if (isApex && question.Type == DnsRecordType.Ns)
        {
            complete &= TryWriteNs(ref writer, zonePointer, out var nsName);
            answers++;
            complete &= TryWriteAddress(ref writer, nsName);
            additional++;
        }
        else if (question.Type == DnsRecordType.Srv && TryFindHostPort(question.Name(query), prefixLength, out var service, out var port))
        {
            complete &= TryWriteSrv(ref writer, service, port, out var target);
            answers++;
            complete &= TryWriteAddress(ref writer, target);
            additional++;
        }

        var authority = 0;
        if (answers == 0 && responseCode == DnsResponseCode.NoError)
        {
            // RFC 2308 §2.2: NODATA is NOERROR with an SOA in the authority section; the name exists, so
            // never NXDOMAIN (that would tell .NET and musl clients the A record is gone too).
            complete &= TryWriteSoa(ref writer, zonePointer);
            authority++;
        }

        if (ResponseWriter.TryWriteOpt(ref writer, parsed, responseCode))
        {
            additional++;
        }

        if (!complete)
        {
            return ResponseWriter.WriteError(query, parsed, echoQuestion: true, DnsResponseCode.ServFail, response);
        }

        new DnsHeader(
            parsed.Header.Id,
            ResponseWriter.Flags(parsed.Header.Flags, responseCode, authoritative: true),
            1,
            (ushort)answers,
            (ushort)authority,
            (ushort)additional).TryWrite(response);
        return writer.Position;
    }

    private bool TryWriteAddress(ref DnsMessageWriter writer, int ownerOffset)
    {
        if (!writer.TryWritePointer(ownerOffset) || !writer.TryBeginRecord(_addressType, DnsClass.In, _ttl, out var length) || !writer.TryWriteBytes(_address))
        {
            return false;
        }

        writer.EndRecord(length);
        return true;
    }

    /// <summary>RFC 1035 §3.3.13, with the registry revision as serial so secondaries could see a change.</summary>
    private bool TryWriteSoa(ref DnsMessageWriter writer, int zonePointer)
    {
        if (!writer.TryWritePointer(zonePointer)
            || !writer.TryBeginRecord(DnsRecordType.Soa, DnsClass.In, _ttl, out var length)
            || !writer.TryWriteLabelAndPointer(NsLabel, zonePointer)
            || !writer.TryWriteLabelAndPointer(HostmasterLabel, zonePointer)
            || !writer.TryWriteUInt32((uint)(_snapshot().Revision & uint.MaxValue))
            || !writer.TryWriteUInt32(Refresh)
            || !writer.TryWriteUInt32(Retry)
            || !writer.TryWriteUInt32(Expire)

            // RFC 2308 §4: MINIMUM is the negative-caching TTL; names here change with the registry, keep it short.
            || !writer.TryWriteUInt32(_ttl))
        {
            return false;
        }

        writer.EndRecord(length);
        return true;
    }

    private bool TryWriteNs(ref DnsMessageWriter writer, int zonePointer, out int nsName)
    {
        nsName = 0;
        if (!writer.TryWritePointer(zonePointer) || !writer.TryBeginRecord(DnsRecordType.Ns, DnsClass.In, _ttl, out var length))
        {
            return false;
        }

        nsName = writer.Position;
        if (!writer.TryWriteLabelAndPointer(NsLabel, zonePointer))
        {
            return false;
        }

        writer.EndRecord(length);
        return true;
    }

    /// <summary>RFC 2782: priority, weight, port, then a target that must not be compressed.</summary>
    private bool TryWriteSrv(ref DnsMessageWriter writer, string service, int port, out int target)
    {
        target = 0;
        if (!writer.TryWritePointer(DnsHeader.Size) || !writer.TryBeginRecord(DnsRecordType.Srv, DnsClass.In, _ttl, out var length)
            || !writer.TryWriteUInt16(0)
            || !writer.TryWriteUInt16(0)
            || !writer.TryWriteUInt16((ushort)port))
        {
            return false;
        }

        target = writer.Position;
        Span<byte> label = stackalloc byte[1 + DnsName.MaxLabelLength];
        label[0] = (byte)service.Length;
        var written = Encoding.ASCII.GetBytes(service, label[1..]);
        if (!writer.TryWriteBytes(label[..(1 + written)]) || !writer.TryWriteBytes(_zone))
        {
            return false;
        }

        writer.EndRecord(length);
        return true;
    }

    /// <summary>
    /// <c>_{name}._tcp.{zone}</c> names a service when the registry gave it the host_port it asked for; a
    /// port another service owns is not this one's.
    /// </summary>
    private bool TryFindHostPort(ReadOnlySpan<byte> name, int prefixLength, out string service, out int port)
    {
        service = "";
        port = 0;
        var first = name[0];
        if (first < 2 || name[1] != (byte)'_' || 1 + first >= prefixLength)
        {
            return false;
        }

        var second = name[(1 + first)..prefixLength];
        if (second.Length != 1 + TcpLabel.Length || second[0] != TcpLabel.Length || !Ascii.EqualsIgnoreCase(second[1..], TcpLabel))
        {
            return false;
        }

        var label = name.Slice(2, first - 1);
        if (!Ascii.IsValid(label))
        {
            return false;
        }

        var lookup = Encoding.ASCII.GetString(label).ToLowerInvariant();
        var snapshot = _snapshot();
        if (snapshot.Services.TryGetValue(lookup, out var entry)
            && entry.HostPort is { } hostPort
            && snapshot.HostPorts.TryGetValue(hostPort, out var owner)
            && owner == lookup)
        {
            service = lookup;
            port = hostPort;
            return true;
        }

        return false;
    }
}
