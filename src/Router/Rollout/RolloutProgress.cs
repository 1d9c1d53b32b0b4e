using System.Globalization;
using System.Text.Json;

namespace Router.Rollout;

/// <summary>
/// One line per instance step: readable on a terminal, a JSON object per line otherwise (for CI logs and
/// scripts), with the same fields either way.
/// </summary>
internal sealed class RolloutProgress(TextWriter output, bool json, TimeProvider time)
{
    public void Instance(string service, int number, string step, string? detail = null) => Write(service, number, step, detail);

    public void Rollout(string service, string step, string? detail = null) => Write(service, null, step, detail);

    private void Write(string service, int? number, string step, string? detail)
    {
        var now = time.GetUtcNow();
        if (json)
        {
            var line = new ProgressLine(now.ToString("O", CultureInfo.InvariantCulture), service, number, step, detail);
            output.WriteLine(JsonSerializer.Serialize(line, RolloutJson.Default.ProgressLine));
        }
        else
        {
            var unit = number is { } n ? $"{service}@{n}" : service;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{now:HH:mm:ss} {unit,-12} {step}{(detail is null ? "" : " — " + detail)}"));
        }

        output.Flush();
    }
}
