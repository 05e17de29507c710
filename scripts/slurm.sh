#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the scale-out tests: munged and slurmctld and
# slurmd from Debian's packages (scripts/setup.sh installs them), run as root without systemd,
# with their configuration, state, logs and pid files under one scratch directory.
#   bash scripts/slurm.sh start DIR   # prints the SLURM_CONF to export; waits until the node is idle
#   bash scripts/slurm.sh stop DIR
set -euo pipefail
cmd=${1:?usage: slurm.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: slurm.sh start|stop DIR}")
host=$(hostname -s)

stop() {
  for d in slurmd slurmctld munged; do
    if [ -f "$dir/$d.pid" ]; then
      kill "$(cat "$dir/$d.pid")" 2>/dev/null || true
    fi
  done
  for _ in $(seq 50); do
    alive=0
    for d in slurmd slurmctld munged; do
      [ -f "$dir/$d.pid" ] && kill -0 "$(cat "$dir/$d.pid" 2>/dev/null)" 2>/dev/null && alive=1
    done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  rm -f "$dir"/*.pid
}

case "$cmd" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: slurm.sh start|stop DIR" >&2; exit 2 ;;
esac

[ "$(id -u)" -eq 0 ] || { echo "slurm.sh: the test cluster runs as root" >&2; exit 2; }
stop
pids=""
for p in $(pgrep -x slurmctld || true) $(pgrep -x slurmd || true); do
  case "$(ps -o stat= -p "$p" 2>/dev/null)" in Z*|"") ;; *) pids="$pids $p" ;; esac  # zombies hold no port
done
if [ -n "$pids" ]; then
  echo "slurm.sh: Slurm daemons of another cluster are running here (pids$pids); stop them first" >&2
  exit 2
fi
rm -rf "$dir/state" "$dir/spool"  # no jobs from an earlier cluster
mkdir -p "$dir"/{state,spool,munge}
chmod 755 "$dir"  # munged runs as munge: it must reach its files
chown munge:munge "$dir/munge"
chmod 700 "$dir/munge"
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
runuser -u munge -- /usr/sbin/munged --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munge.seed" --force
for _ in $(seq 50); do [ -S "$dir/munge/munge.socket" ] && break; sleep 0.1; done
cp "$dir/munge/munged.pid" "$dir/munged.pid"

cpus=$(nproc)
mem=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 1024 ))
cat >"$dir/slurm.conf" <<EOF
ClusterName=doppel-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"
/usr/sbin/slurmctld -f "$SLURM_CONF"
/usr/sbin/slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then
    echo "$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
echo "slurm.sh: the node did not become idle; logs in $dir" >&2
sinfo >&2 || true
exit 1
