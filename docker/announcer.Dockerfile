# The announcer (sidekick) image. Built by docker/build.sh, which publishes the announcer
# self-contained on the build machine and hands this file a context holding app/:
#   docker/build.sh announcer
#
# Same base as the router (docker/base.sh, imported), legacy builder, no registry; see
# docker/router.Dockerfile.
ARG BASE=router-base:bookworm
FROM ${BASE}

COPY app/ /app/

WORKDIR /app

# The announcer only connects out (etcd, its instance's health check): it binds nothing and
# needs no capability at all; run it with --cap-drop ALL.
USER 1654:1654

# Exec form: SIGTERM from `docker stop` reaches the announcer, which withdraws its host key
# first, waits --drain, then exits 0.
ENTRYPOINT ["/app/announcer"]
