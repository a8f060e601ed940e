#!/usr/bin/env bash
# The test suite with the services it needs: a private single-node Slurm cluster (tests/slurm/up.sh),
# started in a temporary folder and stopped afterwards by the PIDs it started — also when the run
# is interrupted. Extra arguments go to `dotnet test` (e.g. --filter-class, see --help).
set -uo pipefail
cd "$(dirname "$0")/.."
state=$(mktemp -d /tmp/exprunner-test.XXXXXX)
cleanup() { tests/slurm/down.sh "$state/slurm"; rm -rf "$state"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
tests/slurm/up.sh "$state/slurm" || exit 1
export SLURM_CONF=$state/slurm/slurm.conf
"${DOTNET:-dotnet}" test --project tests/ExpRunner.Tests/ExpRunner.Tests.csproj -c "${CONFIG:-Release}" --no-progress --no-ansi "$@"
