# The netprov image: API (`python -m api`), worker (`python -m worker`), hypervisor agent
# (`python -m worker --host H`, with Open vSwitch) and migrations (`python -m store.schema upgrade`).
# Built by `docker compose build` (docker-compose.yml); see docs/readme/deploying.md.
FROM python:3.11.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NETPROV_DATA_DIR=/var/lib/netprov

# Open vSwitch and iproute2 for the hypervisor agents; the other roles never start them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openvswitch-switch openvswitch-common iproute2 procps \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps))" \
    && pip install -r /tmp/requirements.txt

COPY . .
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /var/lib/netprov netprov \
    && mkdir -p /var/lib/netprov \
    && chown netprov /var/lib/netprov

# The API and the workers run unprivileged; agents (OVS) run as root (docker-compose.yml).
USER netprov
EXPOSE 8000 9464
CMD ["python", "-m", "api"]
