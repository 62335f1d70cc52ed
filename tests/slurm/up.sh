#!/usr/bin/env bash
# A real one-node Slurm on this machine, for the tests of `--on slurm` and
# `--executor slurm` (tests/test_slurm_*.py). Run as root; .ci/run runs it before
# the tests. It installs Debian's slurm-wlm and munge when they are missing, writes
# /etc/slurm/slurm.conf naming this host as controller and only node, and starts
# munged, slurmctld and slurmd as daemons. Safe to run again: what runs is kept.
# Where it cannot (not root, no apt), the Slurm tests skip and say why; under
# CI=true they fail instead.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "slurm: not root: the Slurm tests will be skipped" >&2
  exit 1
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q slurm-wlm munge >/dev/null
  }
fi

host=$(hostname -s)
getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" >> /etc/hosts
cpus=$(nproc)
memory=$(( $(awk '/^MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

# munge: the key every Slurm message is signed with
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  head -c 1024 /dev/urandom > /etc/munge/munge.key
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0400 /etc/munge/munge.key
chmod 0700 /etc/munge

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
# written by runyard's tests/slurm/up.sh: one node, this host
ClusterName=runyard
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
ReturnToService=2
MinJobAge=600
KillWait=10
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE OverSubscribe=FORCE:4 State=UP
CONF

# a daemon that is still shutting down is waited for, then started again
settle() { for _ in $(seq 50); do pgrep -x "$1" >/dev/null || return 0; sleep 0.2; done; }
restart_slurmd() { pkill -x slurmd || true; settle slurmd; /usr/sbin/slurmd; }
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
if timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; then
  timeout 10 scontrol reconfigure >/dev/null 2>&1 || true
  pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
else
  pkill -x slurmctld || true
  settle slurmctld
  /usr/sbin/slurmctld
  restart_slurmd  # one left from before may wait minutes before it registers again
fi

for try in $(seq 60); do
  state=$(timeout 3 sinfo -h -o %T 2>/dev/null || true)
  case "$state" in
    idle|mixed|allocated)
      echo "slurm: up ($(timeout 3 sinfo -h -o '%P %D %T'))"
      exit 0 ;;
    drain*|down)
      timeout 3 scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
    *)  # not responding (a trailing '*'): slurmd did not register
      if [ "$try" = 10 ]; then restart_slurmd; fi ;;
  esac
  sleep 0.5
done
echo "slurm: did not come up" >&2
tail -n 5 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
