#!/usr/bin/env bash
# Cancels the jobs still on the cluster up.sh started in STATE_DIR (up to 20 s), then stops its daemons
# by their PIDs (and nothing else) and waits up to 15 s for them to exit.   usage: tests/slurm/down.sh STATE_DIR
STATE=${1:?usage: down.sh STATE_DIR}
[ -f "$STATE/pids" ] || exit 0
# Jobs a failed or interrupted test left behind end first, so no task outlives the cluster: scancel sends
# SIGTERM, then SIGKILL after KillWait (5 s). Every job of this private cluster is the tests'.
if [ -f "$STATE/slurm.conf" ]; then
  export SLURM_CONF=$STATE/slurm.conf
  scancel --user="$(id -un)" 2>/dev/null
  for _ in $(seq 1 40); do
    [ -z "$(squeue -h -t running,completing,configuring,suspended -o %i 2>/dev/null)" ] && break
    sleep 0.5
  done
fi
pids=$(tr '\n' ' ' < "$STATE/pids")
for pid in $pids; do kill "$pid" 2>/dev/null; done
for _ in $(seq 1 30); do
  alive=0; for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.5
done
rm -f "$STATE/pids"
