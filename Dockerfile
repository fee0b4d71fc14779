# syntax=docker/dockerfile:1
#
# One image recipe for the four marketmesh services; the build arg SERVICE picks which
# one the image runs:
#
#   docker build --build-arg SERVICE=order-service -t marketmesh/order-service .
#   docker run -e DATABASE_URL=... -e AMQP_URL=... -e JWT_JWKS_URL=http://user-service:3031/.well-known/jwks.json marketmesh/order-service
#   (user-service takes JWT_PRIVATE_KEY instead: its signing key)
#
# docker-compose.yml builds all four from this file.

# ---- build: install everything, compile the TypeScript, drop the dev dependencies ----
FROM node:24-bookworm-slim AS build
WORKDIR /app

COPY package.json package-lock.json tsconfig*.json lerna.json ./
COPY packages/ packages/

RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
RUN npx tsc -b
RUN npm prune --omit=dev --no-audit --no-fund

# What each workspace package needs at run time: its package.json (module resolution and
# packageRoot() look for it), its compiled lib/ and, for a service, its config/ (and notify-service's
# mail templates/ and the live page's public/).
RUN set -eu; \
    for dir in packages/*; do \
      [ -f "$dir/package.json" ] || continue; \
      mkdir -p "/out/$dir"; \
      cp "$dir/package.json" "/out/$dir/"; \
      cp -R "$dir/lib" "/out/$dir/lib"; \
      if [ -d "$dir/config" ]; then cp -R "$dir/config" "/out/$dir/config"; fi; \
      if [ -d "$dir/templates" ]; then cp -R "$dir/templates" "/out/$dir/templates"; fi; \
      if [ -d "$dir/public" ]; then cp -R "$dir/public" "/out/$dir/public"; fi; \
    done; \
    find /out/packages -name '*.tsbuildinfo' -delete

# ---- runtime: production dependencies and compiled code only, as a non-root user ----
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# The same layers for all four services: only what follows ARG SERVICE differs.
# node_modules/@marketmesh/* are relative symlinks to ../../packages/*.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /out/packages ./packages

ARG SERVICE
RUN case "${SERVICE}" in \
      user-service|catalog-service|order-service|notify-service) ;; \
      *) echo "build arg SERVICE must be user-service, catalog-service, order-service or notify-service (got '${SERVICE}')" >&2; exit 1 ;; \
    esac; \
    test -f "packages/${SERVICE}/lib/src/index.js"

# The service reads ./config (node-config) from its package folder.
WORKDIR /app/packages/${SERVICE}
USER node

# Exec form: node is PID 1 and receives SIGTERM, on which the service drains and exits.
CMD ["node", "lib/src/index.js"]
