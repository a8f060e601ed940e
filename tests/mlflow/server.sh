#!/usr/bin/env bash
# A real MLflow tracking server for the tests, on 127.0.0.1, its state (SQLite store, proxied
# artifacts, log, PID) in STATE_DIR:
#   tests/mlflow/server.sh start STATE_DIR PORT [basic-auth]   prints the URI once /health answers
#   tests/mlflow/server.sh stop STATE_DIR                       stops exactly the server started there
#   tests/mlflow/server.sh find                                 says which server would run
#   tests/mlflow/server.sh debs                                 the Debian packages it needs
# The server is `mlflow` from the PATH when the machine has one; else MLflow's server kept beside
# the project (../shared/mlflow-server, or $MLFLOW_SERVER_DIR): MLflow 2.10.2 on Debian's python3
# packages, which its start.sh installs when missing. With basic-auth, MLflow's own auth app runs,
# with an admin user `admin` / `exprunner-test-pw` (its ini and user database in STATE_DIR).
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

find_server() {
  if command -v mlflow >/dev/null 2>&1; then echo "path"; return 0; fi
  local candidates=("${MLFLOW_SERVER_DIR:-}" "$repo/../shared/mlflow-server")
  # A clone of a local checkout: the checkout's neighbour.
  local origin; origin=$(git config --get remote.origin.url 2>/dev/null || true)
  [ -n "$origin" ] && [ -d "$origin" ] && candidates+=("$origin/../shared/mlflow-server")
  for c in "${candidates[@]}"; do
    [ -n "$c" ] && [ -x "$c/start.sh" ] && { (cd "$c" && pwd); return 0; }
  done
  return 1
}

case "${1:-}" in
  debs)
    # The Debian packages the server kept beside the project runs on (its start.sh names them).
    where=$(find_server) || exit 0
    [ "$where" = "path" ] && exit 0
    sed -n '/^DEBS="/,/"$/p' "$where/start.sh" | tr -d '"' | sed 's/^DEBS=//' | tr '\n' ' ';;
  find)
    where=$(find_server) || { echo "no MLflow server: neither mlflow on the PATH nor ../shared/mlflow-server (set MLFLOW_SERVER_DIR)" >&2; exit 1; }
    echo "$where";;
  start)
    state=$(realpath -m "${2:?usage: server.sh start STATE_DIR PORT [basic-auth]}"); port=${3:?port}; auth=${4:-}
    mkdir -p "$state"
    where=$(find_server) || { echo "no MLflow server: neither mlflow on the PATH nor ../shared/mlflow-server (set MLFLOW_SERVER_DIR)" >&2; exit 1; }
    if [ "$auth" = "basic-auth" ]; then
      cat > "$state/auth.ini" <<INI
[mlflow]
default_permission = READ
database_uri = sqlite:///$state/basic_auth.db
admin_username = admin
admin_password = exprunner-test-pw
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
INI
      export MLFLOW_AUTH_CONFIG_PATH=$state/auth.ini
      # One worker: each worker of the auth app creates its user database and admin on start, and two
      # racing over one SQLite file can fail to boot.
      export WORKERS=1
    fi
    if [ "$where" = "path" ]; then
      app=(); [ "$auth" = "basic-auth" ] && app=(--app-name basic-auth --workers 1)
      setsid mlflow server --host 127.0.0.1 --port "$port" "${app[@]}" --backend-store-uri "sqlite:///$state/mlflow.db" \
        --artifacts-destination "$state/artifacts" --serve-artifacts >>"$state/server.log" 2>&1 </dev/null &
      echo $! > "$state/server.pid"   # the session leader: stop.sh ends its process group
      echo "group" > "$state/server.kind"
      for _ in $(seq 1 240); do
        curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/health" 2>/dev/null && { echo "http://127.0.0.1:$port"; exit 0; }
        kill -0 "$(cat "$state/server.pid")" 2>/dev/null || break
        sleep 0.5
      done
      echo "MLflow server did not come up; the end of $state/server.log:" >&2; tail -20 "$state/server.log" >&2; exit 1
    fi
    echo "$where" > "$state/server.kind"
    [ "$auth" = "basic-auth" ] && export MLFLOW_SERVER_APP='mlflow.server.auth:create_app()'
    "$where/start.sh" "$state" "$port";;
  stop)
    state=${2:?usage: server.sh stop STATE_DIR}
    [ -f "$state/server.kind" ] || exit 0
    kind=$(cat "$state/server.kind")
    if [ "$kind" = "group" ]; then
      pid=$(cat "$state/server.pid" 2>/dev/null) || exit 0
      kill -TERM -- "-$pid" 2>/dev/null
      for _ in $(seq 1 40); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL -- "-$pid" 2>/dev/null
      rm -f "$state/server.pid"
    else
      "$kind/stop.sh" "$state"
    fi;;
  *) echo "usage: server.sh start STATE_DIR PORT [basic-auth] | stop STATE_DIR | find | debs" >&2; exit 2;;
esac
