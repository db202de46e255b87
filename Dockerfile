# The meshready image: the admission webhook that deploy/ runs, and `meshready check` for CI.
#
#   docker build -t ghcr.io/meshready/meshready:0.1.0 .
#
# (the tag is the one deploy/deployment.yaml names; keep both at the workspace version).

# Build stage: the `dist` profile (stripped, fat LTO, one codegen unit) with the committed
# Cargo.lock. The slim Rust image has the C compiler that ring and mimalloc need.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --profile dist -p meshready \
    && install -D -m 0755 target/dist/meshready /out/meshready

# Run stage: distroless with glibc and CA certificates, no shell, no package manager; the
# nonroot user (65532), which deploy/deployment.yaml's securityContext also requires.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="meshready" \
      org.opencontainers.image.description="Checks whether Kubernetes pods and services meet Istio's requirements" \
      org.opencontainers.image.source="https://github.com/meshready/meshready" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/meshready /usr/local/bin/meshready
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/meshready"]
CMD ["--help"]
