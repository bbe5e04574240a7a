#!/usr/bin/env bash
# `make run`: Janus + daphne (+ Celery worker and beat with REDIS_URL) on 127.0.0.1, stopped together.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

# Development secrets, generated once and kept in the ignored .env.local.
if [ ! -f .env.local ]; then
  gen() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))'; }
  {
    echo "SECRET_KEY=$(gen)"
    echo "JANUS_API_SECRET=$(gen)"
    echo "JANUS_ADMIN_SECRET=$(gen)"
    echo "JANUS_ADMIN_KEY=$(gen)"
  } > .env.local
  chmod 600 .env.local
  echo "Generated development secrets in .env.local"
fi
set -a; source .env.local; set +a

PORT="${PORT:-8000}"
export SITE_URL="${SITE_URL:-http://127.0.0.1:${PORT}}"  # signup links point at this server
"$PY" manage.py migrate --noinput
"$PY" manage.py devsetup

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$PY" manage.py runjanus &
pids+=($!)
if [ -n "${REDIS_URL:-}" ]; then
  .venv/bin/celery -A audiosocial worker --loglevel INFO --concurrency 2 &
  pids+=($!)
  .venv/bin/celery -A audiosocial beat --loglevel INFO --schedule var/celerybeat-schedule &
  pids+=($!)
else
  # No worker, no beat: the one daphne process runs the periodic tasks (audiosocial/periodic.py).
  export PERIODIC_TASKS_IN_PROCESS=1
fi
.venv/bin/daphne -b 127.0.0.1 -p "$PORT" audiosocial.asgi:application &
pids+=($!)
# The first request starts the in-process schedule; it also tells us the site answers.
for _ in $(seq 1 100); do
  "$PY" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "http://127.0.0.1:${PORT}/healthz" 2>/dev/null && break
  sleep 0.2
done
echo "audiosocial is running at http://127.0.0.1:${PORT}/  (Ctrl-C stops everything)"
wait -n "${pids[@]}"
