# syntax=docker/dockerfile:1
#
# scim-gateway container image: a static binary on a distroless, non-root runtime.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t scim-gateway:dev .
#   docker run --rm -p 8080:8080 -p 9090:9090 -v "$PWD/config.yaml:/etc/scim-gateway/config/config.yaml:ro" scim-gateway:dev
#
# Base images are pinned by version tag: the Go toolchain the module is tested with (go.mod: toolchain go1.26.10)
# and Debian 12's distroless static image (distroless publishes no version tags below the Debian release).
# To pin digests as well, let your update bot (Renovate, Dependabot) add @sha256:... from the registry;
# never write one by hand. charts/dockerfile_test.go checks these rules and builds the same command.

FROM golang:1.26.10-bookworm AS build
WORKDIR /src

# Modules first, in their own cached step: it is redone only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
# VERSION is stamped into the binary (main.version): `scim-gateway version` and the start-up log show it.
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/scim-gateway ./cmd/scim-gateway

# Only the gateway goes into the runtime image (no portal-sim, no shell, no package manager). The helm
# test and health checks use `scim-gateway probe --url ...` instead of curl.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="scim-gateway" \
      org.opencontainers.image.description="SCIM 2.0 gateway from Microsoft Entra ID to a legacy portal's user-sync API" \
      org.opencontainers.image.source="https://github.com/scim-gateway/scim-gateway" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/scim-gateway /usr/local/bin/scim-gateway
# Numeric, so that Kubernetes' runAsNonRoot can verify it (it cannot resolve a user name).
USER 65532:65532
# 8080: SCIM (server.listen); 9090: admin (admin.listen: /healthz /readyz /metrics /admin/*).
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/scim-gateway"]
CMD ["serve", "--config", "/etc/scim-gateway/config/config.yaml"]
