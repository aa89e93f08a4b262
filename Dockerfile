# syntax=docker/dockerfile:1
# One image for every order-notify process; the command picks the process:
#   docker run IMAGE dist/workers/fanout.js        (also mantago, joinchat, metabot, twin24, twin24-correlator, api)
#   docker run IMAGE dist/src/sandbox/cli.js --port 4010 --host 0.0.0.0   (the fake vendors, for trying things out)
# Health checks live in docker-compose.yml / the Kubernetes probes, because the port differs per process.

# Node 24 LTS (Node 20 reached end of life on 2026-04-30; package.json engines: >=22).
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: dev dependencies + TypeScript → dist/ -------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
# tsc -p tsconfig.build.json → dist/src/**, dist/workers/*.js
RUN npm run build

# --- runtime: production dependencies only, non-root, tini as PID 1 ---------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini is PID 1: it forwards SIGTERM to node (which then finishes active jobs within SHUTDOWN_TIMEOUT) and reaps
# zombies. Node as PID 1 would get the kernel's PID 1 treatment: any signal without a handler (e.g. one arriving
# during start-up) is silently ignored, and the stop turns into a SIGKILL after the grace period.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The `order-notify` command (node bin/order-notify.js …): without sources or tsx here, it runs dist/.
COPY bin ./bin
# The default ROUTES_FILE (config/routes.example.yaml, relative to /app); mount your own and set ROUTES_FILE.
COPY config/routes.example.yaml ./config/routes.example.yaml

# The code stays owned by root (read-only for the process). Numeric uid (the image's `node` user) so Kubernetes'
# runAsNonRoot can verify it.
USER 1000:1000
# HTTP_PORT (api), METRICS_PORT (/healthz, /readyz, /metrics of every worker), the sandbox.
EXPOSE 3000 9464 4010
ENTRYPOINT ["/usr/bin/tini", "--", "node"]
CMD ["dist/workers/api.js"]
