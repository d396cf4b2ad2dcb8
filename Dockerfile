# Build with cgo (SQLite), run on a slim Debian.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/daiban ./cmd/daiban

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data daiban && mkdir -p /data && chown daiban /data
COPY --from=build /out/daiban /usr/local/bin/daiban
USER daiban
WORKDIR /data
ENV DAIBAN_ADDR=:8080 DAIBAN_DB=/data/daiban.db DAIBAN_LOG_FORMAT=json
# The SQLite database (and its WAL) lives here: keep it on a volume.
VOLUME ["/data"]
EXPOSE 8080
# Healthy while the process answers /healthz on its own port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m --retries=3 CMD ["/usr/local/bin/daiban", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/daiban"]
CMD ["serve"]
