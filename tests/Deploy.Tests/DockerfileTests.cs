using Router.Testing;

namespace Router.Deploy.Tests;

public sealed class DockerfileTests
{
    public static TheoryData<string> Files() => new() { "router.Dockerfile", "announcer.Dockerfile" };

    public static TheoryData<string> AllFiles() => new() { "router.Dockerfile", "announcer.Dockerfile", "etcd.Dockerfile" };

    public static TheoryData<string, string> Executables() => new()
    {
        { "router.Dockerfile", "router" },
        { "announcer.Dockerfile", "announcer" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void From_ImportedBase_OneStage(string file)
    {
        var dockerfile = Dockerfile.Load(file);

        // No registry serves images here: the one stage starts from docker/base.sh's import.
        Assert.Equal("${BASE}", Assert.Single(dockerfile.Stages).Image);
        Assert.Contains("ARG BASE=router-base:bookworm", File.ReadAllLines(Dockerfile.PathOf(file)));
        Assert.Contains("app/ /app/", dockerfile.Final.Arguments("COPY"));
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Dockerfile_LegacyBuilder_NoSyntaxLineNoRunFlags(string file)
    {
        var lines = File.ReadAllLines(Dockerfile.PathOf(file));

        // BuildKit fetches a `# syntax=` frontend from a registry; the legacy builder refuses RUN --mount.
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("# syntax=", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(Dockerfile.Load(file).Stages.SelectMany(s => s.Arguments("RUN")), a => a.StartsWith("--", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void FinalStage_User_IsNotRootAndComesLast(string file)
    {
        var final = Dockerfile.Load(file).Final.Instructions;
        var user = final.FindLastIndex(i => i.Keyword == "USER");

        Assert.True(user >= 0, $"{file} ends as root");
        Assert.DoesNotContain(final[user].Arguments.Split(':')[0], new[] { "root", "0" });
        // Nothing may run after the switch that expects root.
        Assert.DoesNotContain(final.Skip(user), i => i.Keyword == "RUN");
    }

    [Theory]
    [MemberData(nameof(Executables))]
    public void Entrypoint_Exec_IsTheApphost(string file, string executable)
    {
        var final = Dockerfile.Load(file).Final;

        // Exec form (JSON), so the program is PID 1 and gets docker's SIGTERM itself.
        Assert.Equal($"[\"/app/{executable}\"]", Assert.Single(final.Arguments("ENTRYPOINT")));
    }

    [Fact]
    public void RouterDockerfile_Capability_OnlyBindServiceOnApphost()
    {
        var runs = Dockerfile.Load("router.Dockerfile").Final.Arguments("RUN").ToList();

        Assert.Equal(["[\"/sbin/setcap\", \"cap_net_bind_service=+ep\", \"/app/router\"]"], runs);
    }

    [Fact]
    public void RouterDockerfile_GcName_FromBuildArgEmptyByDefault()
    {
        var final = Dockerfile.Load("router.Dockerfile").Final;

        // Empty for the JIT build (its runtimeconfig names the GC; an empty DOTNET_GCName leaves that choice),
        // libclrgc.so from docker/build.sh for the AOT build, which ships the library beside the binary.
        Assert.Contains("GC_NAME=", final.Arguments("ARG"));
        Assert.Contains("DOTNET_GCName=${GC_NAME}", final.Arguments("ENV"));
        var build = File.ReadAllText(Path.Combine(RepoPaths.Root, "docker", "build.sh"));
        Assert.Contains("--build-arg GC_NAME=\"$gc\"", build, StringComparison.Ordinal);
        Assert.Contains("[ -f \"$1/libclrgc.so\" ]", build, StringComparison.Ordinal);
    }

    [Fact]
    public void RouterDockerfile_TieringDelay_NotMultipliedOnOneCpu_AndTheBinaryUnitAndBenchmarksRunTheSame()
    {
        var env = Dockerfile.Load("router.Dockerfile").Final.Arguments("ENV").ToList();

        // On one CPU the runtime waits ten times longer before it optimises hot methods (docs/benchmarks.md, round 14).
        Assert.Contains("DOTNET_TC_DelaySingleProcMultiplier=1", env);
        // bench/ runs the router as the image does; a setting added to one and not the other skews every ratio.
        var fixedSettings = env.Where(e => e.StartsWith("DOTNET_", StringComparison.Ordinal) && !e.Contains('$', StringComparison.Ordinal));
        var lib = File.ReadAllLines(Path.Combine(RepoPaths.Root, "bench", "lib.sh"));
        var benchLine = Assert.Single(lib, l => l.StartsWith("ROUTER_IMAGE_ENV=(", StringComparison.Ordinal));
        var benchSettings = benchLine["ROUTER_IMAGE_ENV=(".Length..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(fixedSettings.Order(StringComparer.Ordinal), benchSettings.Order(StringComparer.Ordinal));
        // So does the unit that runs the published binary without the image.
        var unitSettings = File.ReadAllLines(Path.Combine(RepoPaths.Root, "units", "router-binary.service"))
            .Where(l => l.StartsWith("Environment=DOTNET_", StringComparison.Ordinal)).Select(l => l["Environment=".Length..]);
        Assert.Equal(fixedSettings.Order(StringComparer.Ordinal), unitSettings.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AnnouncerDockerfile_Capability_IsNone()
    {
        var text = File.ReadAllText(Dockerfile.PathOf("announcer.Dockerfile"));

        Assert.DoesNotContain(Dockerfile.Load("announcer.Dockerfile").Final.Commands(), c => c.Contains("setcap", StringComparison.Ordinal));
        Assert.DoesNotContain("cap_net_bind_service", text, StringComparison.Ordinal);
    }

    [Fact]
    public void RouterDockerfile_Healthcheck_RunsTheScriptItCopies()
    {
        var final = Dockerfile.Load("router.Dockerfile").Final;
        var check = Assert.Single(final.Arguments("HEALTHCHECK"));

        // The probe follows --admin / ROUTER_ADMIN (HealthcheckScriptTests), not a fixed 9090.
        Assert.EndsWith("CMD [\"/usr/local/bin/router-healthcheck\"]", check, StringComparison.Ordinal);
        Assert.Contains("router-healthcheck /usr/local/bin/router-healthcheck", final.Arguments("COPY"));
        Assert.DoesNotContain("9090", check, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ContinuedRun_IsOneInstruction()
    {
        var dockerfile = Dockerfile.Parse("FROM a AS build\n# note\nRUN --mount=type=cache,target=/x \\\n    dotnet publish p.csproj \\\n    -o /app\nFROM b\nUSER 1\n");

        Assert.Equal(2, dockerfile.Stages.Count);
        Assert.Equal(["dotnet publish p.csproj -o /app"], dockerfile.Build.Commands());
        Assert.Equal("USER", Assert.Single(dockerfile.Final.Instructions).Keyword);
    }
}
