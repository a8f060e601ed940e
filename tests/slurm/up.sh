#!/usr/bin/env bash
# Starts a private single-node Slurm cluster for the Slurm integration tests, touching nothing of
# the machine but installing Debian's slurmctld, slurmd, slurm-client and munge when missing:
# its slurm.conf, munge key and socket, spool, state, logs and PID files all live in STATE_DIR,
# its daemons listen on free ports of their own, and no system file (slurm or munge config,
# /etc/hosts) is read or written — a node's own Slurm, if it has one, goes on undisturbed.
# Clients reach this cluster with SLURM_CONF=STATE_DIR/slurm.conf; down.sh stops exactly the
# daemons started here, by the PIDs recorded in STATE_DIR/pids.
#   usage: tests/slurm/up.sh STATE_DIR
set -euo pipefail
STATE=$(realpath -m "${1:?usage: up.sh STATE_DIR}")
mkdir -p "$STATE"; chmod 700 "$STATE"; : > "$STATE/pids"
SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
"$(dirname "$0")/../debs.sh" "the Slurm test cluster" slurmctld slurmd slurm-client munge
PATH=$PATH:/usr/sbin

# Two free TCP ports on loopback for slurmctld and slurmd.
read -r CTLD_PORT SLURMD_PORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')

# munge: our own key, socket, PID, log and seed files.
mkdir -p "$STATE/munge"; chmod 700 "$STATE/munge"
head -c 1024 /dev/urandom > "$STATE/munge/munge.key"; chmod 400 "$STATE/munge/munge.key"
munged --force --socket="$STATE/munge/munge.socket" --key-file="$STATE/munge/munge.key" --pid-file="$STATE/munge/munged.pid" \
  --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed"
for _ in $(seq 1 50); do [ -s "$STATE/munge/munged.pid" ] && break; sleep 0.1; done
cat "$STATE/munge/munged.pid" >> "$STATE/pids"

# Slurm: a config for this host under its own name, addressed as 127.0.0.1 (no name lookup needed).
host=$(hostname -s)
user=$(id -un)
mkdir -p "$STATE/ctld" "$STATE/d" "$STATE/log"
: > "$STATE/plugstack.conf"
node=$(slurmd -C | head -1 | sed 's/ UpTime=.*//; s/^NodeName=[^ ]*//')
cat > "$STATE/slurm.conf" <<CONF
ClusterName=exprunner-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
PlugStackConfig=$STATE/plugstack.conf
SwitchType=switch/none
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host$node State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$STATE/slurm.conf
slurmctld -f "$SLURM_CONF"
for _ in $(seq 1 50); do [ -s "$STATE/slurmctld.pid" ] && break; sleep 0.1; done
cat "$STATE/slurmctld.pid" >> "$STATE/pids"
slurmd -f "$SLURM_CONF" -N "$host"
for _ in $(seq 1 50); do [ -s "$STATE/slurmd.pid" ] && break; sleep 0.1; done
cat "$STATE/slurmd.pid" >> "$STATE/pids"
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE "^(idle|mixed|allocated)"; then echo "slurm: node $host up (partition cpu, SLURM_CONF=$SLURM_CONF)"; exit 0; fi
  sleep 0.5
done
echo "slurm: the node did not come up; see $STATE/log/" >&2
tail -5 "$STATE/log/"*.log >&2 || true
exit 1
