# Switchboard: one binary, one PostgreSQL. docker-compose.yml runs it with PostgreSQL (and
# optionally MinIO, or two nodes behind Caddy): see README, "Docker Compose".
#
#   docker build -t switchboard .
#   docker run --rm -p 3000:3000 \
#     -e DATABASE_URL=postgres://user:pass@db:5432/switchboard \
#     -e FRONTEND_URL=https://support.example.com \
#     -e SECRET_KEY_BASE="$(openssl rand -hex 64)" \
#     -v switchboard-data:/data switchboard
#
# `serve` runs pending migrations before it listens. Other commands:
#   docker run --rm -e DATABASE_URL=... -e FRONTEND_URL=... -e SECRET_KEY_BASE=... switchboard migrate
#   docker run --rm ... switchboard create-admin --account-name Acme --name Ada --email ada@example.com --password '...'

# npm packages the server serves (package-lock.json, production dependencies only): the
# composer's emoji list. Installed here, never committed, never fetched from a CDN.
FROM node:22-bookworm-slim AS web
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM rust:1-bookworm AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Migrations and the askama page templates are embedded at compile time, so they are part
# of the build context; the UI's static files are served from /src/static at run time.
COPY Cargo.toml Cargo.lock ./
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin switchboard \
    && install -m 0755 target/release/switchboard /usr/local/bin/switchboard

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /data --shell /usr/sbin/nologin switchboard \
    && mkdir -p /data/storage \
    && chown -R switchboard:switchboard /data
COPY --from=builder /usr/local/bin/switchboard /usr/local/bin/switchboard
COPY --from=builder /src/static /src/static
COPY --from=web /src/node_modules/emoji-picker-element-data/en/emojibase/data.json /src/node_modules/emoji-picker-element-data/en/emojibase/data.json
USER switchboard
WORKDIR /data
VOLUME ["/data"]
ENV HOST=0.0.0.0 PORT=3000 STORAGE_DIR=/data/storage MAIL_DIR=/data/mail
EXPOSE 3000
# curl is for health checks (docker-compose.yml probes /ready).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:3000/ready || exit 1
ENTRYPOINT ["switchboard"]
CMD ["serve"]
