#!/usr/bin/env bash
# The liveness pass against the safety-only check of the same configuration:
# wall and CPU time and peak memory of `commoncert check` without and with
# --liveness, and the liveness graph's bytes per state (issue 12's target:
# the pass costs at most 2x the safety-only check in time and memory).
#
#   benches/liveness-cost.sh                      # the default configuration
#   benches/liveness-cost.sh --services 3 --actions 4 --lossy --revocation push
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    args=(--services 3 --actions 3 --lossy --revocation push)
fi
cargo build --release --quiet
bin=target/release/commoncert
for mode in safety liveness; do
    extra=()
    [ "$mode" = liveness ] && extra=(--liveness)
    out=$( { /usr/bin/time -f "time: %e s wall, %U s user, %M KiB peak" \
        "$bin" check "${args[@]}" "${extra[@]}" >/dev/null; } 2>&1 || true)
    echo "== $mode: ${args[*]} ${extra[*]}"
    echo "$out" | grep -E "^(summary|liveness|time):"
done
