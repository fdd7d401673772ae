# Multi-stage build of the ZooKeeper-compatible server and the operator.
#
#   docker build --target server   -t zkops.local/zk-server:dev -t zkops.local/zk-server:0.1.0 .
#   (the version tag, the workspace version, is the operator's default image of Native members)
#   docker build --target operator -t zkops.local/zk-operator:dev .
#
# images/docker-build.sh runs these builds on the project's own engine, with
# bases made locally (no registry there): it passes BUILDER_IMAGE and
# RUNTIME_IMAGE. Without a Docker engine, images/build.sh produces equivalent
# images from `cargo build` output (same paths, user and entrypoints).
#
# No `# syntax=` line: the frontend built into the engine reads this file
# (cache mounts included) without pulling one.

ARG RUST_VERSION=1.95
ARG DEBIAN_SUITE=bookworm
ARG BUILDER_IMAGE=rust:${RUST_VERSION}-${DEBIAN_SUITE}
ARG RUNTIME_IMAGE=debian:${DEBIAN_SUITE}-slim

FROM ${BUILDER_IMAGE} AS builder
# The server's GSS-API bindings (SASL GSSAPI) are generated from MIT Kerberos' headers with libclang.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libkrb5-dev libclang-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p zk-server -p zk-operator \
    && mkdir -p /out \
    && cp target/release/zk-server target/release/zk-operator /out/ \
    && strip /out/zk-server /out/zk-operator

FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libgssapi-krb5-2 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd -g 65532 app \
    && useradd -u 65532 -g 65532 -d /nonexistent -s /usr/sbin/nologin app
WORKDIR /

FROM runtime AS server
COPY --from=builder /out/zk-server /usr/local/bin/zk-server
USER 65532:65532
EXPOSE 2181 2888 3888 8080
ENTRYPOINT ["/usr/local/bin/zk-server"]

FROM runtime AS operator
COPY --from=builder /out/zk-operator /usr/local/bin/zk-operator
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/zk-operator"]
