#!/usr/bin/env bash
# The seed sweep as a real Slurm job array on loopback (issue 14).
#
# Installs Debian's slurm-wlm and munge when missing, starts munged,
# slurmctld and slurmd for 127.0.0.1 (a private key, socket, state and spool
# under one temporary folder; ports found free; every address configured
# and used is 127.0.0.1, though Slurm has no setting for the address its
# daemons listen on), submits
# deploy/slurm/sweep.sbatch as a 4-task array over the shipped scenarios and
# SEEDS, then deploy/slurm/merge.sbatch as a job that depends on it, and
# compares the merged result with the same sweep run in one process:
#   - both merges pass, over the same number of runs;
#   - their summary.json files are equal but for the `shards` part;
#   - merging both folders at once sees every run twice with the same trace
#     hash (`commoncert merge` refuses two copies of a run that disagree).
# Every daemon it started is stopped by its PID on exit, whatever happens.
#
#   sudo tests/slurm/run.sh                 # SEEDS=0..1000, about 26 minutes on 2 cores
#   SEEDS=0..20 tests/slurm/run.sh          # what CI runs (a few minutes)
#   KEEP=1 tests/slurm/run.sh               # keep the folder (logs, shards, reports)
#
# Exit status: 0 the sweep ran and matched; 1 it did not; 77 it cannot run
# here (not root, or slurm/munge missing and no apt-get), so a caller can
# skip it.

set -euo pipefail

SEEDS=${SEEDS:-0..1000}
TASKS=4
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

log() { echo "slurm-test: $*"; }
fail() {
  echo "slurm-test: FAIL: $*" >&2
  exit 1
}

if [[ $(id -u) -ne 0 ]]; then
  log "skipped: needs root (slurmd runs jobs as their user, munged and slurmctld as root here)"
  exit 77
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
  ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    log "skipped: slurm-wlm or munge is missing and there is no apt-get to install them"
    exit 77
  fi
  log "installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# (A network namespace with only `lo` would wall the daemons in, but
# slurmctld cannot start in one: getaddrinfo finds no address for its
# listening socket when no interface but loopback is configured.)
log "building the release binary"
cargo build --release --quiet
# Where cargo put it: CARGO_TARGET_DIR is honoured, as cargo honours it.
COMMONCERT=${CARGO_TARGET_DIR:-$ROOT/target}/release/commoncert
[[ -x $COMMONCERT ]] || fail "no binary at $COMMONCERT"
export COMMONCERT

WORK=$(mktemp -d "${TMPDIR:-/tmp}/commoncert-slurm.XXXXXX")
mkdir -p "$WORK/state" "$WORK/spool" "$WORK/log"
PIDS=()

cleanup() {
  local status=$?
  # A second signal must not cut the cleanup short.
  trap '' INT TERM
  set +e
  if [[ -n ${SLURM_CONF:-} && -S $WORK/munge.socket ]]; then
    # Jobs still queued or running (a failed run) go first, while the
    # daemons that can cancel them are up; wait (up to 30 s) until the
    # queue is empty, so that no job step outlives its slurmd.
    scancel --user=root >/dev/null 2>&1
    local n=0
    while [[ -n $(timeout 5 squeue -h 2>/dev/null) ]] && ((n < 300)); do
      sleep 0.1
      n=$((n + 1))
    done
  fi
  # Stop what we started, newest first, by PID: TERM, then KILL after 10 s.
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    local n=0
    while kill -0 "${PIDS[i]}" 2>/dev/null && ((n < 100)); do
      sleep 0.1
      n=$((n + 1))
    done
    kill -KILL "${PIDS[i]}" 2>/dev/null
    wait "${PIDS[i]}" 2>/dev/null
  done
  if [[ $status -ne 0 ]]; then
    for f in "$WORK"/log/*.log; do
      [[ -f $f ]] || continue
      echo "--- last lines of $f" >&2
      tail -n 20 "$f" >&2
    done
  fi
  if [[ ${KEEP:-0} == 1 ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A TCP port on 127.0.0.1 that nothing listens on, from a start that differs
# between concurrent runs.
free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}
BASE=$((20000 + ($$ % 5000) * 2))
CTLD_PORT=$(free_port "$BASE")
SLURMD_PORT=$(free_port $((CTLD_PORT + 1)))

log "starting munged (key and socket in $WORK)"
head -c 1024 /dev/urandom >"$WORK/munge.key"
chmod 600 "$WORK/munge.key"
munged --foreground --force --key-file="$WORK/munge.key" \
  --socket="$WORK/munge.socket" --pid-file="$WORK/munged.pid" \
  --seed-file="$WORK/munged.seed" --log-file="$WORK/log/munged.log" \
  >"$WORK/log/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
  [[ -S $WORK/munge.socket ]] && break
  sleep 0.1
done
munge --socket="$WORK/munge.socket" --no-input | unmunge --socket="$WORK/munge.socket" >/dev/null ||
  fail "munged does not answer on $WORK/munge.socket"

HOST=$(hostname -s 2>/dev/null || uname -n)
export SLURM_CONF=$WORK/slurm.conf
cat >"$SLURM_CONF" <<EOF
# Written by tests/slurm/run.sh: one node, this machine, on 127.0.0.1 only.
ClusterName=commoncert-loopback
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$WORK/munge.socket
CredType=cred/munge
MailProg=/bin/true
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
# Keep finished jobs an hour, so their exit codes can be read at the end.
MinJobAge=3600
NodeName=loopback NodeAddr=127.0.0.1 NodeHostname=$HOST CPUs=$(nproc) State=UNKNOWN
PartitionName=loopback Nodes=loopback Default=YES MaxTime=INFINITE State=UP
EOF

log "starting slurmctld (port $CTLD_PORT) and slurmd (port $SLURMD_PORT)"
slurmctld -D -i >"$WORK/log/slurmctld.out" 2>&1 &
CTLD=$!
PIDS+=("$CTLD")
slurmd -D -N loopback >"$WORK/log/slurmd.out" 2>&1 &
SLURMD=$!
PIDS+=("$SLURMD")
state=""
for _ in $(seq 120); do
  kill -0 "$CTLD" 2>/dev/null || fail "slurmctld exited (see its log below)"
  kill -0 "$SLURMD" 2>/dev/null || fail "slurmd exited (see its log below)"
  state=$(timeout 10 sinfo -h -n loopback -o %T 2>/dev/null || true)
  [[ $state == idle ]] && break
  sleep 0.5
done
[[ $state == idle ]] || fail "the node never became idle (state: ${state:-none})"

log "submitting a $TASKS-task sweep array: scenarios/ x seeds $SEEDS"
started=$(date +%s)
jid=$(COMMONCERT=$COMMONCERT OUT=$WORK/shards SEEDS=$SEEDS SCENARIOS=scenarios \
  sbatch --parsable --array=0-$((TASKS - 1)) --output="$WORK/slurm-%A_%a.out" \
  deploy/slurm/sweep.sbatch) || fail "sbatch refused the sweep array"
log "sweep job $jid; the merge waits on it (afterany)"
set +e
COMMONCERT=$COMMONCERT OUT=$WORK/shards SHARDS=$TASKS REPORT=$WORK/slurm-merged \
  timeout 45m sbatch --wait --parsable --dependency=afterany:"$jid" \
  --output="$WORK/slurm-merge.out" deploy/slurm/merge.sbatch >"$WORK/merge-jid"
merge_status=$?
set -e
slurm_seconds=$(($(date +%s) - started))
cat "$WORK/slurm-merge.out"
[[ $merge_status -eq 0 ]] || fail "the merge job exited $merge_status"
# Every array task of job $1 (of $2 tasks) completed with exit 0 and left
# its shard file in folder $3.
tasks_completed() {
  local info i
  for ((i = 0; i < $2; i++)); do
    info=$(scontrol -o show job "${1}_$i") || fail "scontrol knows no task ${1}_$i"
    [[ $info == *"JobState=COMPLETED"* && $info == *"ExitCode=0:0"* ]] ||
      fail "array task ${1}_$i did not complete cleanly: $info"
    [[ -f $3/shard-$i.jsonl ]] || fail "array task ${1}_$i wrote no shard file"
  done
}
tasks_completed "$jid" "$TASKS" "$WORK/shards"

log "the same sweep in one process"
started=$(date +%s)
"$COMMONCERT" sim scenarios --seeds "$SEEDS" --out "$WORK/single" >"$WORK/single.out" ||
  fail "the single-process sweep failed (see $WORK/single.out)"
single_seconds=$(($(date +%s) - started))
"$COMMONCERT" merge "$WORK/single" --report "$WORK/single-merged" >/dev/null ||
  fail "merging the single-process sweep failed"

# The summaries agree but for which shard files they came from.
strip_shards() { sed '/^  "shards": {/,$d' "$1"; }
diff <(strip_shards "$WORK/slurm-merged/summary.json") \
  <(strip_shards "$WORK/single-merged/summary.json") ||
  fail "the Slurm sweep's summary differs from the single-process one"
# Run by run: both folders merged at once; a trace hash that differs is an
# error (exit 2), and every run must be there twice.
both=$("$COMMONCERT" merge "$WORK/shards" "$WORK/single") ||
  fail "merging both sweeps together failed: $both"
runs=$(sed -n 's/^merge: [0-9]* shard files, \([0-9]*\) runs: .*/\1/p' <<<"$both")
dups=$(sed -n 's/.*(\([0-9]*\) duplicate runs counted once).*/\1/p' <<<"$both")
[[ -n $runs && $runs -gt 0 && $runs == "$dups" ]] ||
  fail "not every run is in both sweeps: $both"

# The swarm check through the same engine: a 2-task array of
# deploy/slurm/swarm.sbatch over member seeds 0..8, merged, against the same
# members in one process (members are fixed by their seeds).
SWARM_CHECK="--services 3 --users 2 --crashes 1"
log "submitting a 2-task swarm array: check $SWARM_CHECK, members 0..8"
sjid=$(COMMONCERT=$COMMONCERT OUT=$WORK/swarm CHECK=$SWARM_CHECK SEEDS=0..8 STATES=5000 \
  BUDGET=10m sbatch --parsable --array=0-1 --output="$WORK/slurm-%A_%a.out" \
  deploy/slurm/swarm.sbatch) || fail "sbatch refused the swarm array"
set +e
COMMONCERT=$COMMONCERT OUT=$WORK/swarm SHARDS=2 REPORT=$WORK/swarm-merged \
  timeout 15m sbatch --wait --parsable --dependency=afterany:"$sjid" \
  --output="$WORK/slurm-swarm-merge.out" deploy/slurm/merge.sbatch >/dev/null
swarm_status=$?
set -e
cat "$WORK/slurm-swarm-merge.out"
[[ $swarm_status -eq 0 ]] || fail "the swarm's merge job exited $swarm_status"
tasks_completed "$sjid" 2 "$WORK/swarm"
# shellcheck disable=SC2086
"$COMMONCERT" check $SWARM_CHECK --swarm --swarm-seeds 0..8 --max-states 5000 \
  --expect-violated one-certificate-per-user --out "$WORK/swarm-single" \
  >"$WORK/swarm-single.out" 2>&1 || fail "the single-process swarm failed"
both=$("$COMMONCERT" merge "$WORK/swarm" "$WORK/swarm-single") ||
  fail "merging both swarms together failed: $both"
[[ $both == *"8 runs: 8 passed, 0 failed (8 duplicate runs counted once)"* ]] ||
  fail "the swarm's members differ between Slurm and one process: $both"

log "PASS: $runs runs; Slurm array ($TASKS tasks) and merge in ${slurm_seconds}s, one process in ${single_seconds}s; every trace hash equal; the swarm's 8 members equal too"
