#!/bin/sh
# Host side of a sandboxed execution, run just before bwrap (and setpriv, as root): joins the
# execution's pids and memory cgroups (so every process the code starts is counted, and the
# memory of them all), waits for its work,
# sets the per-process limits, then becomes COMMAND. Limits set here are inherited by
# everything inside.
#
# Usage: sandbox_entry.sh PIDS_CGROUP_PROCS|- MEMORY_CGROUP_PROCS|- WORK_FD
# On the pipe WORK_FD, L03 writes the work as one command, every word quoted:
#   set -- CPU_SECONDS MEMORY_KIB NPROC|- COMMAND [ARG...]
# then closes it. Joining the cgroup before the work arrives lets L03 start entries ahead of
# it: on cgroup v1 a join waits for an RCU grace period (several milliseconds), which then
# costs the execution nothing. dash cannot close a descriptor above 9, so COMMAND closes
# WORK_FD itself (bwrap's `--args WORK_FD` finds the pipe drained and closes it).
set -eu
pids_procs=$1 memory_procs=$2 work_fd=$3
case $work_fd in
  '' | *[!0-9]*) echo "sandbox-entry: bad work fd '$work_fd'" >&2; exit 2 ;;
esac
for procs in "$pids_procs" "$memory_procs"; do
  if [ "$procs" != - ]; then
    echo $$ > "$procs"
  fi
done
set --
. "/dev/fd/$work_fd"
# The pipe closed without work: L03 no longer needs this entry.
if [ $# -eq 0 ]; then
  exit 0
fi
cpu=$1 memory_kib=$2 nproc=$3
shift 3
# Soft CPU limit sends SIGXCPU (exit 152, named "time"); the hard one, a second later, SIGKILL.
ulimit -S -t "$cpu"
ulimit -H -t $((cpu + 1))
ulimit -v "$memory_kib"
ulimit -c 0
if [ "$nproc" != - ]; then
  ulimit -p "$nproc"
fi
# The shell exports PWD; nothing of the host may reach the sandbox's processes.
unset PWD OLDPWD
exec "$@"
