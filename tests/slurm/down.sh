#!/usr/bin/env bash
# Stops the daemons up.sh started in STATE_DIR, by their PIDs (and nothing else), and waits up to
# 15 s for them to exit.   usage: tests/slurm/down.sh STATE_DIR
STATE=${1:?usage: down.sh STATE_DIR}
[ -f "$STATE/pids" ] || exit 0
pids=$(tr '\n' ' ' < "$STATE/pids")
for pid in $pids; do kill "$pid" 2>/dev/null; done
for _ in $(seq 1 30); do
  alive=0; for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.5
done
rm -f "$STATE/pids"
