# The one cdk-mlops runtime image: `cdk-mlops train|serve|monitor|features|registry ...`.
# Multi-stage: the build stage compiles TypeScript with the dev toolchain; the runtime stage
# holds production dependencies only and runs as an unprivileged user. Base images are pinned
# to an exact Node.js LTS release (22; the package needs >= 20.19); pin them by digest in your
# registry mirror for production. Build: docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) .

ARG NODE_IMAGE=node:22.20.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc --build

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/lib ./lib
COPY bin ./bin
# Lineage: `cdk-mlops train` records the code commit of the image it ran in.
ARG GIT_COMMIT=unknown
ENV GIT_COMMIT=${GIT_COMMIT}
# Non-root, numeric (Pod Security "restricted" can verify runAsNonRoot), no home writes needed.
USER 10001:10001
ENV TMPDIR=/tmp
EXPOSE 8080 9090
ENTRYPOINT ["node", "/app/bin/cdk-mlops"]
CMD ["--help"]
