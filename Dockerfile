# syntax=docker/dockerfile:1
# venture: multi-stage build. The builder installs the project into a virtual environment;
# the runtime image holds only that environment and runs as an unprivileged user.
#   docker build -t venture .
#   docker run --rm -p 50051:50051 venture

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venture
COPY pyproject.toml README.md ./
COPY venture ./venture
COPY scoring ./scoring
COPY matching ./matching
COPY service ./service
RUN /opt/venture/bin/pip install --upgrade pip && /opt/venture/bin/pip install .

FROM python:3.11-slim AS runtime
RUN groupadd --system venture && useradd --system --gid venture --no-create-home venture
COPY --from=build /opt/venture /opt/venture
ENV PATH=/opt/venture/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    VENTURE_HOST=0.0.0.0 \
    VENTURE_PORT=50051
USER venture
EXPOSE 50051
# The gRPC health protocol (grpc.health.v1), through the venture client: no extra binary.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["venture", "health", "--address", "127.0.0.1:50051", "--timeout", "4"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["venture", "serve"]
