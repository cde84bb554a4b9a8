# The bridge as a container, for docker-compose.yml. Build: docker build -t orthanc-research-bridge .
FROM node:22-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# onnxruntime-node: its CPU binary is in the package; its install script would fetch GPU files.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production BRIDGE_DATA_DIR=/data BRIDGE_API_HOST=0.0.0.0
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY web ./web
# dcmtk: the DICOM C-STORE destinations' storescu, findscu and echoscu (src/destinations/dimse.ts).
RUN apt-get update && apt-get install -y --no-install-recommends dcmtk && rm -rf /var/lib/apt/lists/*
# Owned by the account the bridge runs as, so named volumes mounted there start writable.
RUN mkdir -p /data /reports && chown node:node /data /reports
VOLUME /data
EXPOSE 8099
USER node
# What the `bridge` command sets itself (src/cli.ts): peak RSS bounded on long runs.
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=50", "dist/cli.js"]
CMD ["run"]
