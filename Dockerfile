# syntax=docker/dockerfile:1
# stockdash image: `docker build -t stockdash .` (see docs/deploy.md).
# Nothing secret is copied in: SECRET_KEY and DATABASE_URL come from the environment or from Docker
# secrets at run time (SECRET_KEY_FILE, DATABASE_URL_FILE).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the dependencies in a virtualenv, without pip caches or build leftovers ---------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml ./
# Only the dependencies go into the virtualenv: the app runs from /app, where its templates and
# migrations sit beside it (an installed copy in site-packages would not find them).
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt

# --- runtime: the virtualenv, the code, an unprivileged user --------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STOCKDASH_INSTANCE_PATH=/app/instance \
    GUNICORN_BIND=0.0.0.0:8000
RUN groupadd --system --gid 10001 stockdash \
    && useradd --system --uid 10001 --gid stockdash --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin stockdash
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code stays owned by root: the app user can run it but not change it.
COPY wsgi.py gunicorn.conf.py ./
COPY app ./app
COPY dashapp ./dashapp
COPY templates ./templates
COPY migrations ./migrations
COPY docker ./docker
RUN mkdir -p /app/instance && chown stockdash:stockdash /app/instance
USER 10001:10001
EXPOSE 8000
# Fails on anything but a 200 from /healthcheck/ (redirects included); the app answers within 5 s
# even when the database is down, so the timeout leaves a second to spare.
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/bin/sh", "/app/docker/entrypoint.sh"]
