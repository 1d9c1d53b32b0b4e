# syntax=docker/dockerfile:1
#
# The announcer (sidekick) image. Build from the repository root:
#   docker build -f docker/announcer.Dockerfile -t announcer .
#
# Same base as the router (mcr.microsoft.com/dotnet/aspnet, framework-dependent): the
# announcer references ASP.NET Core too, and a node then stores the runtime layer once for
# both images. See docker/router.Dockerfile for the reasoning.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src

# Only what the build reads; tests/Deploy.Tests copies exactly these COPY lines to prove it.
COPY nuget.config Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/

RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet restore src/Announcer/Announcer.csproj --configfile nuget.config
RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet publish src/Announcer/Announcer.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./

# The announcer only connects out (etcd, its instance's health check): it binds nothing and
# needs no capability at all; run it with --cap-drop ALL.
ENV ASPNETCORE_HTTP_PORTS=

# APP_UID (1654, user "app") is defined by the .NET base images.
USER $APP_UID

# Exec form: SIGTERM from `docker stop` reaches the announcer, which withdraws its host key
# first, waits --drain, then exits 0.
ENTRYPOINT ["/app/announcer"]
