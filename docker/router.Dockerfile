# syntax=docker/dockerfile:1
#
# The router image. Build from the repository root:
#   docker build -f docker/router.Dockerfile -t router .
#
# Runtime choice: framework-dependent on mcr.microsoft.com/dotnet/aspnet rather than a
# self-contained publish on runtime-deps. Both executables need ASP.NET Core, so the router
# and the announcer share one base layer that every node pulls once; the publish here is the
# same `dotnet publish` that CI proves (tests/Deploy.Tests), with no runtime packs to fetch;
# and a runtime security fix is a rebuild on the new base tag, not a change to the app.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src

# Only what the build reads: the shared props (warnings as errors, central package
# versions), .editorconfig (code style is enforced in the build) and the sources.
# The test project in tests/Deploy.Tests copies exactly these COPY lines to prove it.
COPY nuget.config Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/

# The repository's nuget.config is the only package source, as in CI. The cache mount keeps
# the package folder between builds without putting it into a layer.
RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet restore src/Router/Router.csproj --configfile nuget.config
RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet publish src/Router/Router.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./

# The router runs as the image's unprivileged user but must bind 80, 443, 53 and any low
# host_port. The capability goes on the apphost (/app/router), not on the shared
# /usr/share/dotnet/dotnet host, so no other program started in this container gains it.
# setcap runs here, in the final stage, because COPY --from does not reliably carry the
# security.capability attribute; libcap2-bin is removed again in the same layer.
# The container must keep NET_BIND_SERVICE in its bounding set (docker's default, or
# --cap-drop ALL --cap-add NET_BIND_SERVICE) and must NOT run with no-new-privileges,
# which stops a file capability from taking effect.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap2-bin \
    && setcap cap_net_bind_service=+ep /app/router \
    && apt-get purge -y --auto-remove libcap2-bin \
    && rm -rf /var/lib/apt/lists/*

# The base image sets ASPNETCORE_HTTP_PORTS=8080; the router's listeners come from its own
# options (--http, --https, --admin), so the image must not add one behind their back.
ENV ASPNETCORE_HTTP_PORTS=

# bash's /dev/tcp instead of curl: no HTTP client is installed just for this probe. The
# router runs with --net=host, so 127.0.0.1 is the node's loopback where --admin listens.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9090 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# APP_UID (1654, user "app") is defined by the .NET base images.
USER $APP_UID

# Exec form: the router is PID 1 of the container and receives docker's SIGTERM itself,
# which starts its graceful drain.
ENTRYPOINT ["/app/router"]
