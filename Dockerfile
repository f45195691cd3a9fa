# syntax=docker/dockerfile:1
# One image for both roles: `dpready controller` (the Deployment in manifests/) and
# `dpready reporter` (the sidecar or init container in examples/). Build:
#   docker build -t ghcr.io/dpready/dpready:0.1.0 .
# TypeScript is compiled here, at build time; the image runs plain JavaScript from dist/ and
# has neither TypeScript nor tsx, so the reporter's start-up (which it measures) compiles nothing.
# Node runs dist/entry.cjs: it loads the reporter's own CommonJS bundle, dist/reporter.cjs,
# with require() (no ES module loader before the first attempt; src/entry.ts), and hands every
# other command to dist/cli.js; the controller runs from dist/controller.js. After
# its work a sidecar reporter execs /bin/sh + sleep (both in the base image) to wait for SIGTERM.
# The entrypoint is dpready-start, a small static C program that stamps the container's start
# before Node's own start-up (which the reporter would otherwise count as start error).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: dev dependencies, tsc -> dist/ ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` dev dependency's install script fetches a Node binary; the base
# image already has Node 24 and the compiler needs nothing else.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# Also bundles the reporter into dist/reporter.cjs and the entrypoint dist/entry.cjs (esbuild): what
# every pod loads; and the
# controller into dist/controller.js and its dist/controller-*.js chunks (its libraries bundled;
# client-node, node-forge and @fastify/swagger-ui stay in node_modules, loaded when used).
RUN npm run build \
 # dev-cluster builds Kubernetes from source with Go and reads test/ scripts: not for an image.
 && rm -rf dist/devcluster \
 && node dist/entry.cjs --help >/dev/null \
 && node dist/entry.cjs reporter --help >/dev/null \
 && node dist/entry.cjs controller --help >/dev/null

# ---- dpready-start: the start stamp every container runs first (src/reporter/dpready-start.c) ---
# Static, so it runs before (and without) the dynamic loader; the compiler stays in this stage.
FROM ${NODE_IMAGE} AS start
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY src/reporter/dpready-start.c /src/
RUN gcc -static -O2 -Wall -Wextra -Werror -o /dpready-start /src/dpready-start.c \
 && strip /dpready-start \
 && /dpready-start /bin/sh -c 'case "$DPREADY_START_NS" in [1-9]*) ;; *) exit 1;; esac'

# ---- deps: production dependencies only ------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.source="https://github.com/dpready/dpready" \
      org.opencontainers.image.description="dpready: Kubernetes readiness gate for pod datapath readiness (controller and reporter)" \
      org.opencontainers.image.licenses="MIT"
# The source revision (`--build-arg REVISION=$(git rev-parse HEAD)`), shown by `dpready --version`
# and the dpready_build_info metric.
ARG REVISION=unknown
LABEL org.opencontainers.image.revision="${REVISION}"
ENV NODE_ENV=production DPREADY_REVISION=${REVISION}
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY --from=start /dpready-start /usr/local/bin/dpready-start
# 65532: the conventional "nonroot" uid (distroless); numeric, so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
# dpready-start stamps the instant the container's command ran (DPREADY_START_NS), then execs
# node under the same PID; the reporter records that instant as its start.
ENTRYPOINT ["/usr/local/bin/dpready-start", "node", "/app/dist/entry.cjs"]
CMD ["--help"]
