#!/usr/bin/env bash
# The test suite with the services it needs, each started in a temporary folder and stopped
# afterwards by the PIDs it started — also when the run is interrupted:
# - a private single-node Slurm cluster (tests/slurm/up.sh; SLURM_CONF points the tests at it);
# - two real MLflow tracking servers (tests/mlflow/server.sh): a plain one and one with MLflow's
#   basic-auth app (MLFLOW_TEST_URI, MLFLOW_TEST_AUTH_URI; tests start more through MLFLOW_TEST_SERVER).
# - Debian's Chromium for the UI's browser tests (installed with apt when it is missing; Playwright
#   drives it, and the screenshots of each page land in tests/artifacts/ui).
# - Debian's python3-jsonschema, which checks the config schema against the loader, and python3-pandas,
#   which reads the per-step record as users do.
# Extra arguments go to `dotnet test` (e.g. -- --filter-class NAME).
set -uo pipefail
cd "$(dirname "$0")/.."
state=$(mktemp -d /tmp/exprunner-test.XXXXXX)
cleanup() {
  tests/mlflow/server.sh stop "$state/mlflow" >/dev/null 2>&1
  tests/mlflow/server.sh stop "$state/mlflow-auth" >/dev/null 2>&1
  tests/slurm/down.sh "$state/slurm"
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Every Debian package the services need, installed up front and one install at a time (apt holds
# one lock): Chromium, Slurm with munge, and the python3 packages MLflow's server runs on.
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/lib/chromium/chromium ]; then
  tests/debs.sh "the UI's browser tests" chromium || exit 1
fi
tests/debs.sh "the Slurm test cluster" slurmctld slurmd slurm-client munge || exit 1
tests/debs.sh "the MLflow test server" $(tests/mlflow/server.sh debs) || exit 1
tests/debs.sh "the config schema test (a real JSON-Schema validator) and the per-step record's reader" python3-jsonschema python3-pandas || exit 1

port=$(free_port); auth_port=$(free_port)
tests/mlflow/server.sh start "$state/mlflow" "$port" > "$state/mlflow.uri" 2> "$state/mlflow.err" &
mlflow_start=$!
tests/slurm/up.sh "$state/slurm" || exit 1
wait $mlflow_start || { cat "$state/mlflow.err" >&2; exit 1; }
# The auth server after the first, which installs the server's packages when they are missing.
tests/mlflow/server.sh start "$state/mlflow-auth" "$auth_port" basic-auth > "$state/mlflow-auth.uri" || exit 1
export SLURM_CONF=$state/slurm/slurm.conf
export MLFLOW_TEST_URI=$(cat "$state/mlflow.uri") MLFLOW_TEST_AUTH_URI=$(cat "$state/mlflow-auth.uri")
export MLFLOW_TEST_SERVER=$PWD/tests/mlflow/server.sh MLFLOW_TEST_STATE=$state
echo "mlflow: $MLFLOW_TEST_URI and $MLFLOW_TEST_AUTH_URI (basic auth) from $(tests/mlflow/server.sh find)"
echo "running the test suite (about 4 minutes on 2 cores; a line per failure, the totals at the end)…"
"${DOTNET:-dotnet}" test --project tests/ExpRunner.Tests/ExpRunner.Tests.csproj -c "${CONFIG:-Release}" --no-progress --no-ansi "$@"
