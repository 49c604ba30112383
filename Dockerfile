# syntax=docker/dockerfile:1
# One image for every service and job:
#   motcua run <queue|intake|deadlines|notify>   one service
#   motcua migrate                               every schema (DATABASE_URL)
#   motcua topics --replication 3                every topic and its dead-letter twin
# Build from the repository root:  docker build -t motcua:0.1.0 .

# Pinned to a patch release and to the digest of its multi-architecture index, so a
# re-pushed tag cannot change a rebuild. Bump both at once, deliberately:
# deploy/pin-base-image.sh python:3.11.<patch>-slim-bookworm (deploy/README.md).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/motcua
WORKDIR /src
# Dependencies first, from the lock file alone (`make lock`), so a source edit reuses
# this layer and every build installs the same versions, checked against their hashes.
COPY requirements.lock ./
RUN /opt/motcua/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE NOTICE ./
COPY motcua ./motcua
RUN /opt/motcua/bin/pip wheel --no-deps --wheel-dir /dist . \
 && /opt/motcua/bin/pip install --no-deps /dist/motcua-*.whl

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="motcua" \
      org.opencontainers.image.description="Event-driven one-stop-shop services for Vietnamese ward centers" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric uid lets Kubernetes verify runAsNonRoot without a passwd lookup.
RUN groupadd --system --gid 10001 motcua \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin motcua
COPY --from=builder /opt/motcua /opt/motcua
COPY deploy/healthcheck.py /opt/motcua/healthcheck.py
# Inside a container the loopback default would make every service unreachable.
ENV PATH=/opt/motcua/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MOTCUA_LOG_FORMAT=json \
    MOTCUA_QUEUE_HOST=0.0.0.0 \
    MOTCUA_INTAKE_HOST=0.0.0.0 \
    MOTCUA_DEADLINES_HOST=0.0.0.0 \
    MOTCUA_NOTIFY_HOST=0.0.0.0 \
    MOTCUA_REGISTRY_HOST=0.0.0.0
WORKDIR /opt/motcua
USER 10001:10001
EXPOSE 8001 8002 8003 8004 8005
# Liveness only: the broker or database being away must not mark the process sick.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/motcua/healthcheck.py"]
ENTRYPOINT ["motcua"]
CMD ["run", "queue"]
