# syntax=docker/dockerfile:1
# sst-backend: HTTP API and Socket.IO (uvicorn on 0.0.0.0:8000).
# Build from the repository root: docker build -f docker/backend.Dockerfile .
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
    uv sync --frozen --no-dev --no-install-workspace --package sst-backend
COPY core/ core/
COPY backend/ backend/
# --no-editable puts the workspace packages into the venv, so /src is not needed at run time.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package sst-backend

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
EXPOSE 8000
# sst-backend binds 127.0.0.1 unless told otherwise; in a container it must listen on all.
ENV SST_HOST=0.0.0.0 SST_PORT=8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["sst-backend"]
