# Takhti server image: the browser app is built in a Node stage, the server runs on Python 3.11.
FROM node:20-bookworm-slim AS webclient
WORKDIR /src
COPY webclient/package.json webclient/package-lock.json webclient/
RUN cd webclient && npm ci --no-audit --no-fund
COPY webclient webclient
COPY classroom/protocol classroom/protocol
RUN cd webclient && npm run build

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY classroom classroom
COPY boardclient boardclient
COPY --from=webclient /src/classroom/static classroom/static
RUN pip install --no-cache-dir . -c constraints.txt
ENV TAKHTI_DATA_DIR=/data TAKHTI_HOST=0.0.0.0 TAKHTI_PORT=8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
CMD ["classroom", "serve"]
