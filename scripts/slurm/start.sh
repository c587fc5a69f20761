#!/usr/bin/env bash
# Starts a one-node Slurm cluster for kurz's tests: munged, slurmctld and
# slurmd from Debian's packages (munge slurmctld slurmd slurm-client), run
# as root without systemd, every file (config, keys, state, logs, sockets)
# under one folder. The node has this machine's real CPUs and memory.
#
#   scripts/slurm/start.sh DIR    starts it; prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/slurm/stop.sh DIR     stops it (and only it)
#
# Clients (sbatch, squeue, scancel, sinfo) find the cluster through
# SLURM_CONF=DIR/slurm.conf. Exit status 3 when the Slurm or munge programs
# are missing, 1 when the cluster does not come up (the logs are printed).
set -euo pipefail

dir=${1:?usage: start.sh DIR}
for program in munged mungekey slurmctld slurmd sbatch squeue scontrol; do
  if ! command -v "$program" >/dev/null 2>&1; then
    echo "start.sh: $program is missing (apt-get install munge slurmctld slurmd slurm-client)" >&2
    exit 3
  fi
done
if [[ $(id -u) != 0 ]]; then
  echo "start.sh: run as root (slurmd starts jobs as their users)" >&2
  exit 1
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mkdir -p "$dir"/{munge,state,spool,log}
chmod 755 "$dir/munge"

host=$(hostname -s)
cpus=$(nproc --all)
# slurmd refuses a node whose configured memory exceeds what it finds: use
# 95% of MemTotal (MiB).
mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.95 }' /proc/meminfo)
# Ports taken from the folder's name hash, so clusters of parallel test runs
# do not collide (6818.. are Slurm's defaults; stay clear of them).
base=$((20000 + $(printf '%s' "$dir" | cksum | cut -d' ' -f1) % 20000))

[[ -f "$dir/munge/munge.key" ]] || mungekey --create --keyfile="$dir/munge/munge.key" --bits=1024
chmod 600 "$dir/munge/munge.key"
munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge/munged.seed" --force

cat >"$dir/slurm.conf" <<CONF
# One-node test cluster written by kurz's scripts/slurm/start.sh.
ClusterName=kurztest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
SlurmctldPort=$base
SlurmdPort=$((base + 1))
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/builtin
MinJobAge=3600
KillWait=5
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF

export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

# Up when the node takes jobs.
for _ in $(seq 1 60); do
  state=$(sinfo -h -n "$host" -o '%t' 2>/dev/null || true)
  case "$state" in
    idle* | mix* | alloc*)
      echo "export SLURM_CONF=$SLURM_CONF"
      exit 0
      ;;
  esac
  sleep 0.5
done
echo "start.sh: the node did not come up (state: ${state:-none})" >&2
tail -n 30 "$dir"/log/*.log >&2 || true
exit 1
