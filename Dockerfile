# check=error=true
# Build: docker build --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD) -t twilio_billing_exporter .
# Linted by BuildKit's own checks (the ones `docker build --check` runs) in `make test`.
# The toolchain go.mod names (the official image sets GOTOOLCHAIN=local, so
# it fetches no other), pinned by the digest of the multi-platform tag so that
# a rebuild compiles with the same toolchain until the pin is changed on
# purpose. To update it, with go.mod's go line:
#   docker buildx imagetools inspect golang:1.26.8
# and copy the "Digest:" line (the index, not a per-platform manifest) here.
FROM --platform=$BUILDPLATFORM golang:1.26.8@sha256:3c3e25a4da13fd0478eed2df1eb35a0e667094a7124d3993a6a1d30f71c17e79 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
ARG TARGETOS
ARG TARGETARCH
# The same flags as `make build`: static (no cgo), no debug info, version info
# for --version and twilio_exporter_build_info.
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/twilio_billing_exporter .

# Static binary on a distroless base: no shell, no package manager, non-root.
# Pinned by the digest of the multi-platform :nonroot tag, so that a rebuild
# gets the same base until the pin is changed on purpose. To update it:
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot
# and copy the "Digest:" line (the index, not a per-platform manifest) here.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="twilio_billing_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Twilio Billing Group month-to-date cost and usage" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/twilio_billing_exporter /bin/twilio_billing_exporter
USER 65532:65532
EXPOSE 10117
ENTRYPOINT ["/bin/twilio_billing_exporter"]
CMD ["--config.file=/etc/twilio_billing_exporter/config.yml"]
