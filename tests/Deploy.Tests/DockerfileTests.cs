using Router.Testing;

namespace Router.Deploy.Tests;

public sealed class DockerfileTests
{
    public static TheoryData<string> Files() => new() { "router.Dockerfile", "announcer.Dockerfile" };

    public static TheoryData<string, string> Projects() => new()
    {
        { "router.Dockerfile", "src/Router/Router.csproj" },
        { "announcer.Dockerfile", "src/Announcer/Announcer.csproj" },
    };

    public static TheoryData<string, string> Executables() => new()
    {
        { "router.Dockerfile", "router" },
        { "announcer.Dockerfile", "announcer" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Stages_BuildAndRuntime_SdkThenAspnet(string file)
    {
        var dockerfile = Dockerfile.Load(file);

        Assert.True(dockerfile.Stages.Count >= 2, $"{file} is not multi-stage");
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", dockerfile.Build.Image);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", dockerfile.Final.Image);
        Assert.Contains(dockerfile.Final.Arguments("COPY"), a => a.StartsWith("--from=build ", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void FinalStage_User_IsNotRootAndComesLast(string file)
    {
        var final = Dockerfile.Load(file).Final.Instructions;
        var user = final.FindLastIndex(i => i.Keyword == "USER");

        Assert.True(user >= 0, $"{file} ends as root");
        Assert.DoesNotContain(final[user].Arguments.Split(':')[0], new[] { "root", "0" });
        // setcap and apt-get need root; nothing may run after the switch that expects it.
        Assert.DoesNotContain(final.Skip(user), i => i.Keyword == "RUN");
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void BuildStage_RestoreAndPublish_UseProjectAndRepositoryNugetConfig(string file, string project)
    {
        var build = Dockerfile.Load(file).Build;
        var commands = build.Commands().ToList();

        Assert.Contains(build.Arguments("COPY"), a => UnitFile.Words(a).Contains("nuget.config"));
        Assert.Contains($"dotnet restore {project} --configfile nuget.config", commands);
        Assert.Contains(commands, c => c.StartsWith($"dotnet publish {project} -c Release", StringComparison.Ordinal) && c.EndsWith("-o /app", StringComparison.Ordinal));
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
        var final = Dockerfile.Load("router.Dockerfile").Final;
        var setcaps = final.Commands()
            .SelectMany(c => c.Split("&&", StringSplitOptions.TrimEntries))
            .Where(c => c.StartsWith("setcap", StringComparison.Ordinal))
            .ToList();

        Assert.Equal(["setcap cap_net_bind_service=+ep /app/router"], setcaps);
    }

    [Fact]
    public void AnnouncerDockerfile_Capability_IsNone()
    {
        var text = File.ReadAllText(Dockerfile.PathOf("announcer.Dockerfile"));

        Assert.DoesNotContain(Dockerfile.Load("announcer.Dockerfile").Final.Commands(), c => c.Contains("setcap", StringComparison.Ordinal));
        Assert.DoesNotContain("cap_net_bind_service", text, StringComparison.Ordinal);
    }

    [Fact]
    public void RouterDockerfile_Healthcheck_ProbesAdminHealthzOnLoopback()
    {
        var check = Assert.Single(Dockerfile.Load("router.Dockerfile").Final.Arguments("HEALTHCHECK"));

        Assert.Contains("/dev/tcp/127.0.0.1/9090", check, StringComparison.Ordinal);
        Assert.Contains("GET /healthz ", check, StringComparison.Ordinal);
    }

    [Fact]
    public void DockerIgnore_Patterns_ExcludeBuildOutputAndHistory()
    {
        var patterns = File.ReadAllLines(Path.Combine(RepoPaths.Root, ".dockerignore"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();

        Assert.Contains("**/bin/", patterns);
        Assert.Contains("**/obj/", patterns);
        Assert.Contains(".git", patterns);
        Assert.DoesNotContain(patterns, p => p is "src" or "src/" or "*.props" or "nuget.config");
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
