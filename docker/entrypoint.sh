#!/bin/sh
# Container entry point: wait for the database (with backoff), apply migrations one replica at a
# time, then serve with gunicorn, or run the command given instead, e.g.
#   docker compose run --rm web flask --app wsgi users create --email ...
# `exec` makes gunicorn PID 1, so it receives Docker's SIGTERM itself and shuts down gracefully.
set -eu
cd "$(dirname "$0")/.."

if [ "${MIGRATE_ON_START:-1}" = "1" ]; then
  python docker/db_gate.py -- flask --app wsgi db upgrade
else
  python docker/db_gate.py
fi

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
exec gunicorn -c gunicorn.conf.py wsgi:app
