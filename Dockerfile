# syntax=docker/dockerfile:1
# OrbitRepos Go module server. Build: docker build -t orbitrepos-go .
# Run:   docker run -p 8080:8080 -v orbit-data:/data -e ORBITREPO_ADMIN_PASSWORD=change-me orbitrepos-go

FROM oven/bun:1.4.4 AS deps
WORKDIR /app
COPY package.json bun.lock ./
# Production dependencies only: drizzle-kit, s3rver, playwright-core are for development and tests.
RUN bun install --frozen-lockfile --production

FROM oven/bun:1.4.4-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    ORBITREPO_HOST=0.0.0.0 \
    ORBITREPO_PORT=8080 \
    ORBITREPO_DATA_DIR=/data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock tsconfig.json ./
COPY src ./src
COPY drizzle ./drizzle
# The image's non-root "bun" user owns the data volume; nothing else is writable.
RUN mkdir -p /data && chown bun:bun /data
USER bun
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bun", "run", "src/healthcheck.ts"]
CMD ["bun", "run", "src/index.ts"]
