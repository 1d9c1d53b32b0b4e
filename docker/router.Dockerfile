# The router image. Built by docker/build.sh, which publishes the router self-contained on the
# build machine and hands this file a context holding app/ and router-healthcheck:
#   docker/build.sh router
#
# No build stage and no `# syntax=` line: the legacy builder (Debian's docker.io without
# BuildKit, buildah) builds this, and no registry is needed. The base is the root filesystem
# from docker/base.sh (Debian bookworm: glibc, libstdc++, OpenSSL 3, zlib, CA bundle, bash),
# imported as an image; the .NET runtime comes with the self-contained app.
ARG BASE=router-base:bookworm
FROM ${BASE}

COPY app/ /app/
COPY router-healthcheck /usr/local/bin/router-healthcheck

# The router runs as user app (1654) but must bind 80, 443, 53 and any low host_port. The
# capability goes on the apphost (/app/router) only, here in the image: a capability set before
# the build does not survive COPY. The container must keep NET_BIND_SERVICE in its bounding set
# (docker's default, or --cap-drop ALL --cap-add NET_BIND_SERVICE) and must NOT run with
# no-new-privileges, which stops a file capability from taking effect.
# /sbin: the extract-variant base is not merged-/usr.
RUN ["/sbin/setcap", "cap_net_bind_service=+ep", "/app/router"]

# Probes /healthz on the address the router was given (--admin, else ROUTER_ADMIN, else
# 127.0.0.1:9090), with bash's /dev/tcp: no HTTP client is installed just for this probe.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/router-healthcheck"]

# The garbage collector: docker/build.sh passes GC_NAME=libclrgc.so (the runtime's segments GC, beside the binary)
# for the native AOT build (AOT=1), which reads it from DOTNET_GCName. Empty for the JIT build, whose
# router.runtimeconfig.json names the same library; an empty DOTNET_GCName leaves that as it is.
ARG GC_NAME=
ENV DOTNET_GCName=${GC_NAME}

# Tiered compilation waits for a quiet spell before it optimises hot methods: 100 ms, times 10 when the process
# sees one CPU (a one-vCPU node, a container held to one CPU). With that 1 s wait the router under load
# stayed partly unoptimised for its first minute: 38 µs of user time per new connection for 16 s, against
# 19 once settled (docs/benchmarks.md, round 14). The multiplier at 1 settles it within seconds and leaves
# start-up as it was. The native AOT build has no tiers and ignores it.
ENV DOTNET_TC_DelaySingleProcMultiplier=1

WORKDIR /app
USER 1654:1654

# Exec form: the router is PID 1 of the container and receives docker's SIGTERM itself,
# which starts its graceful drain.
ENTRYPOINT ["/app/router"]
