# Build: docker build --build-arg VERSION=$(git describe --tags --always) -t twilio_billing_exporter .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/twilio_billing_exporter .

# Static binary on a distroless base: no shell, no package manager, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="twilio_billing_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Twilio Billing Group month-to-date cost and usage" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/twilio_billing_exporter /bin/twilio_billing_exporter
USER 65532:65532
EXPOSE 10117
ENTRYPOINT ["/bin/twilio_billing_exporter"]
CMD ["--config.file=/etc/twilio_billing_exporter/config.yml"]
