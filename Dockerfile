# The one cdk-mlops runtime image: `cdk-mlops train|serve|monitor|features|registry ...`.
# Multi-stage: the build stage compiles TypeScript with the dev toolchain; the runtime stage
# holds production dependencies only and runs as an unprivileged user. Base images are pinned
# to an exact Node.js LTS release (22; the package needs >= 20.19); pin them by digest in your
# registry mirror for production. Build: docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) .
#
# GPU variant (ModelEndpoint with resources.gpus, serve's executionProvider 'cuda'): the same file
# with two build arguments:
#   docker build --build-arg RUNTIME_BASE_IMAGE=<cuda-node> --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 .
# RUNTIME_BASE_IMAGE replaces the runtime stage's base with <cuda-node>, an image holding the CUDA 12
# and cuDNN 9 runtime libraries and Node.js 22 (the build stage stays on NODE_IMAGE: it only
# compiles TypeScript); ONNXRUNTIME_NODE_INSTALL=cuda12 makes onnxruntime-node's install script fetch
# its CUDA execution provider (libonnxruntime_providers_cuda.so, from NuGet: the build needs network).
# Without the CUDA provider, or without a GPU at run time, a model configured for 'cuda' fails to
# load with a message saying so; it never falls back to the CPU. The default stays the CPU image.

ARG NODE_IMAGE=node:22.20.0-bookworm-slim
ARG RUNTIME_BASE_IMAGE=node:22.20.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc --build

FROM ${RUNTIME_BASE_IMAGE} AS runtime
WORKDIR /app
# skip: CPU only (the default); cuda12: with onnxruntime's CUDA execution provider (GPU variant)
ARG ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=${ONNXRUNTIME_NODE_INSTALL} npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
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
