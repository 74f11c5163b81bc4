# The st44 API image with the migrator as its entrypoint: at every start the
# container waits for the database, applies pending migrations under a lock,
# then st44-migrate replaces itself (execve) with the API, which runs as PID 1.

# ---- build: compile st44-migrate for the runtime's C library (musl) ----
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ARG TARGETARCH=amd64
# The commit `st44-migrate version` reports (deploy.yml / ci.yml pass it; scripts/build.ts reads it).
ARG ST44_BUILD_COMMIT
RUN case "$TARGETARCH" in \
      amd64) target=bun-linux-x64-musl ;; \
      arm64) target=bun-linux-arm64-musl ;; \
      *) echo "unsupported architecture $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && npx bun scripts/build.ts --target "$target" \
 && npm prune --omit=dev

# ---- runtime: only the binary, the API and its runtime dependencies ----
FROM node:24-alpine AS runtime
# The musl build of Bun needs libstdc++ and libgcc (node:*-alpine has them; explicit for plain alpine).
RUN apk add --no-cache libstdc++ libgcc
WORKDIR /app
COPY --from=build /src/dist/st44-migrate /usr/local/bin/st44-migrate
COPY --from=build /src/dist/lib ./dist/lib
COPY --from=build /src/examples/api ./examples/api
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
ENV NODE_ENV=production PORT=3000 LOG_FORMAT=json
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 CMD ["st44-migrate", "health"]
ENTRYPOINT ["st44-migrate", "run", "--"]
CMD ["node", "examples/api/server.mjs"]
