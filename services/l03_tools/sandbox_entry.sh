#!/bin/sh
# Host side of a sandboxed execution, run just before bwrap (and setpriv, as root):
# joins the execution's pids cgroup (so every process the code starts is counted), sets the
# per-process limits, then becomes bwrap. Limits set here are inherited by everything inside.
#
# Usage: sandbox_entry.sh CGROUP_PROCS|- CPU_SECONDS MEMORY_KIB NPROC|- COMMAND [ARG...]
set -eu
procs=$1 cpu=$2 memory_kib=$3 nproc=$4
shift 4
if [ "$procs" != - ]; then
  echo $$ > "$procs"
fi
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
