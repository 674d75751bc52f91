# syntax=docker/dockerfile:1
# sst-hub-gateway: MQTT in, readings to PostgreSQL and Redis.
# Build from the repository root: docker build -f docker/hub_gateway.Dockerfile .
ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Third-party dependencies first, from the lock alone, so a code change reuses this layer.
# uv needs every workspace member's manifest to read the workspace, not their code.
COPY pyproject.toml uv.lock ./
COPY core/pyproject.toml core/pyproject.toml
COPY backend/pyproject.toml backend/pyproject.toml
COPY hub_gateway/pyproject.toml hub_gateway/pyproject.toml
COPY ai_inference/pyproject.toml ai_inference/pyproject.toml
COPY ai_training/pyproject.toml ai_training/pyproject.toml
COPY devices/pyproject.toml devices/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package sst-hub-gateway
COPY core/ core/
COPY hub_gateway/ hub_gateway/
# --no-editable puts the workspace packages into the venv, so /src is not needed at run time.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package sst-hub-gateway

FROM python:${PYTHON_VERSION}-slim-bookworm
RUN groupadd --system --gid 10001 sst \
    && useradd --system --uid 10001 --gid sst --home-dir /app --no-create-home sst \
    && mkdir -p /app/var && chown sst:sst /app/var
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SST_LOG_JSON=true
WORKDIR /app
USER sst:sst
CMD ["sst-hub-gateway"]
