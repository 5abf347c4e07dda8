# One image for every process of the CPI pipeline; the command chooses which one runs
# (docs/decisions/0011-one-image-services-by-command.md, docs/deployment.md):
#
#   docker build -t cpi-pipeline .
#   docker run cpi-pipeline node services/ingest/src/main.ts      # or processor, alerter, api
#   docker run cpi-pipeline                                        # services/all-in-one/src/main.ts
#
# Node 24 runs the TypeScript sources directly (decision 0001): there is no build step, only the
# production dependencies of the services, installed from the committed lockfile. The base is
# Debian (glibc), not Alpine: the embedded engine (@chdb/lib-linux-x64-gnu) is glibc only. It is
# loaded only by a process that uses it (no CLICKHOUSE_URL); `--build-arg EMBEDDED_ENGINE=no`
# leaves its ~540 MB out of an image whose services talk to a ClickHouse server
# (docker-compose.yml builds that one).

# ---- build: the workspace's production dependencies, from the lockfile only ----------------
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
ENV CI=true
# pnpm at the version of package.json's "packageManager" (corepack is not relied on).
RUN npm install --global --no-audit --no-fund pnpm@10.34.8
# The lockfile alone decides what is downloaded: this layer stays cached until it changes.
# `pnpm fetch` also links every importer's packages (test/, bench/ too) into node_modules;
# only the store is kept.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch --prod --store-dir /pnpm/store \
 && rm -rf node_modules
# Every workspace manifest the lockfile names (test/ and bench/ only for their package.json),
# then the sources the services run.
COPY package.json ./
COPY test/package.json ./test/
COPY bench/package.json ./bench/
COPY schemas ./schemas
COPY packages ./packages
COPY services ./services
# The services and the packages they depend on (all-in-one depends on every service); no dev
# dependencies, nothing of test/ or bench/.
RUN pnpm install --offline --frozen-lockfile --prod --store-dir /pnpm/store \
      --filter "@cpi/all-in-one..." \
 && rm -rf test bench
ARG EMBEDDED_ENGINE=yes
RUN if [ "$EMBEDDED_ENGINE" = "no" ]; then rm -rf node_modules/.pnpm/@chdb+lib-linux-x64-gnu@*; fi
# The API serves the alerting runbook from here (CPI_RUNBOOK_URL's default).
COPY docs/alerting.md ./docs/alerting.md

# ---- runtime: Node, the sources and node_modules; nothing else ------------------------------
FROM node:24.21.0-bookworm-slim AS runtime
# HOST: reachable from other containers. CPI_DATA_DIR / CLICKHOUSE_PATH: the only writable
# place (the all-in-one process's generated key, simulator progress and embedded engine).
ENV NODE_OPTIONS="--max-semi-space-size=64 --disable-warning=TimeoutNegativeWarning" \
    HOST=0.0.0.0 \
    PORT=8080 \
    CPI_DATA_DIR=/var/lib/cpi \
    CLICKHOUSE_PATH=/var/lib/cpi/clickhouse
WORKDIR /app
# npm, npx and corepack are not needed at run time: fewer files, fewer advisories.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && mkdir -p /var/lib/cpi \
 && chown node:node /var/lib/cpi
# Owned by root and read-only for the service user: the code cannot be changed at run time.
COPY --from=build /app /app
USER node
EXPOSE 8080
# Liveness of whichever service runs: /healthz on PORT (packages/runtime/src/health.ts).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "services/all-in-one/src/main.ts"]
