#!/usr/bin/env bash
# The image's entrypoint: sizes the task slots from this container's cores, then hands over to
# the official image's /entrypoint (which waits for the database and runs the command).
# Twice the cores, as `make run` does (README "Task slots", bench/RESULTS.md): the scheduler's
# [core] parallelism, and a Celery worker's concurrency the same unless set. A value set in the
# environment (the compose file, .env) wins.
set -euo pipefail
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-$(( 2 * $(nproc) ))}"
export AIRFLOW__CELERY__WORKER_CONCURRENCY="${AIRFLOW__CELERY__WORKER_CONCURRENCY:-${AIRFLOW__CORE__PARALLELISM}}"
exec "${OPENFN_AIRFLOW_NEXT_ENTRYPOINT:-/entrypoint}" "$@"
