#!/usr/bin/env bash
# Stops the daemons up.sh started, by their PIDs (and nothing else).
STATE=${SLURM_TEST_STATE:-/tmp/exprunner-slurm}
[ -f "$STATE/pids" ] || exit 0
SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
while read -r pid; do [ -n "$pid" ] && $SUDO kill "$pid" 2>/dev/null; done < "$STATE/pids"
rm -f "$STATE/pids"
