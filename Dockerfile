# cache-service image: built with the dev dependencies, run with the production ones only.
# The base is a build argument so that machines which cannot pull it can pass a local one
# (scripts/image/make-local-base.sh). Node 26 is the Active LTS line (since October 2026, supported to April 2029).
ARG NODE_IMAGE=node:26-bookworm-slim

FROM ${NODE_IMAGE} AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped here: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && cp -r src/store/lua dist/store/

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
# Source maps, type declarations and docs are over 40 % of the dependencies' bytes, and nothing reads them at run time.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) \
    -exec rm -f {} + \
  && rm -rf /root/.npm /tmp/*
COPY --from=build /app/dist ./dist
# The official images' unprivileged user, by number, so that Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 8080 9090
# node itself is PID 1, so SIGTERM reaches the graceful shutdown (no npm or shell in between).
CMD ["node", "dist/server.js"]
