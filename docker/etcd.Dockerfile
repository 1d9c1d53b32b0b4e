# etcd from Debian's etcd-server package on the images' base, for tests: the Testcontainers
# fallback of tests/Testing (EtcdContainer) runs it where no etcd binary is installed.
# Built by `docker/build.sh etcd` from the unpacked package; not an image for production nodes.
ARG BASE=router-base:bookworm
FROM ${BASE}

COPY usr/bin/etcd /usr/local/bin/etcd

# The test names the command ("etcd" and its flags) and a data dir at the root of the
# container's file system; a throwaway test member runs as root for that.
EXPOSE 2379
CMD ["etcd"]
