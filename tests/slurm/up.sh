#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine for the Slurm integration tests: installs
# Debian's slurmctld, slurmd, slurm-client and munge when missing, writes a slurm.conf for the
# local host (no cgroups, no accounting), clears old state and starts munged, slurmctld and slurmd
# as plain daemons (no systemd). The PIDs of what it started go to $STATE/pids for down.sh.
set -euo pipefail
STATE=${SLURM_TEST_STATE:-/tmp/exprunner-slurm}
mkdir -p "$STATE"; : > "$STATE/pids"
SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
if ! command -v slurmctld >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  echo "installing slurmctld slurmd slurm-client munge"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi
host=$(hostname -s)
getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" | $SUDO tee -a /etc/hosts >/dev/null

# munge: key, runtime folder, daemon as the munge user.
$SUDO mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
[ -s /etc/munge/munge.key ] || $SUDO dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
$SUDO chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
$SUDO chmod 700 /etc/munge; $SUDO chmod 400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
  $SUDO runuser -u munge -- /usr/sbin/munged
  sleep 0.5; pgrep -x munged >> "$STATE/pids"
fi

# Slurm: fresh state, a config for this host, then the daemons.
for p in slurmctld slurmd; do pgrep -x $p >/dev/null && $SUDO pkill -x $p && sleep 1 || true; done
$SUDO rm -rf /var/spool/slurmctld /var/spool/slurmd
$SUDO mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
node=$(slurmd -C | head -1 | sed 's/ UpTime=.*//')
$SUDO tee /etc/slurm/slurm.conf >/dev/null <<CONF
ClusterName=exprunner-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
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
SlurmctldPidFile=/var/spool/slurmctld/slurmctld.pid
SlurmdPidFile=/var/spool/slurmd/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
$SUDO /usr/sbin/slurmctld
$SUDO /usr/sbin/slurmd
sleep 1
cat /var/spool/slurmctld/slurmctld.pid /var/spool/slurmd/slurmd.pid >> "$STATE/pids"
for i in $(seq 1 30); do
  if sinfo -h -o %T 2>/dev/null | grep -qE "^(idle|mixed|allocated)"; then echo "slurm: node $host up (partition cpu)"; exit 0; fi
  sleep 1
done
echo "slurm: the node did not come up; see /var/log/slurm/" >&2
exit 1
