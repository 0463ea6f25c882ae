# Flokk's image: one image for every role (`flokk init`, `flokk serve`, `flokk scheduler`).
# Build: docker build -t flokk .      Run them together: deploy/compose.yaml
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLOKK_DATA_DIR=/var/lib/flokk \
    FLOKK_LOG_FORMAT=json

WORKDIR /opt/flokk
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
COPY mdm_protocol ./mdm_protocol
COPY profiles ./profiles
RUN pip install --no-cache-dir . \
 && useradd --system --home-dir /var/lib/flokk --shell /usr/sbin/nologin flokk \
 && mkdir -p /var/lib/flokk \
 && chown flokk /var/lib/flokk

USER flokk
EXPOSE 8000
ENTRYPOINT ["flokk"]
# Behind a TLS-terminating proxy (deploy/haproxy.cfg); the proxy passes the device's certificate (RFC 9440).
CMD ["serve", "--no-tls", "--bind", "0.0.0.0:8000"]
