#!/usr/bin/env bash
# Stops the one-node cluster scripts/slurm/start.sh started in DIR: cancels
# its jobs, then ends slurmd, slurmctld and munged by the pids their pid
# files hold (nothing else). The folder itself is left for its logs.
set -uo pipefail

dir=${1:?usage: stop.sh DIR}
[[ -d "$dir" ]] || exit 0
dir=$(cd "$dir" && pwd)
if [[ -f "$dir/slurm.conf" ]] && command -v scancel >/dev/null 2>&1; then
  SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --full --quiet --user=root 2>/dev/null || true
fi
stop() {
  local pidfile=$1
  [[ -f "$pidfile" ]] || return 0
  local pid
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
}
stop "$dir/slurmd.pid"
stop "$dir/slurmctld.pid"
stop "$dir/munge/munged.pid"
exit 0
