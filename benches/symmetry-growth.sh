#!/usr/bin/env bash
# The state space as users and services grow, with and without `--symmetry`
# (issue 10, "Symmetry that reduces"): unique states, the reduction, and the
# ideal factor M! (users are permuted; services are not, see
# model/src/symmetry.rs), with CPU seconds and peak memory of each run.
#
#   benches/symmetry-growth.sh                 # users 1..3, services 2..3, 2 actions
#   ACTIONS=3 USERS="1 2" benches/symmetry-growth.sh
#
# Each run is `commoncert check` on one thread (the breadth-first search,
# which --symmetry uses); a run that does not finish within LIMIT seconds
# (default 600) or MEMORY (default 16G) is reported as such.
set -euo pipefail
cd "$(dirname "$0")/.."

actions=${ACTIONS:-2}
users=${USERS:-1 2 3}
services=${SERVICES:-2 3}
limit=${LIMIT:-600}
memory=${MEMORY:-16G}

cargo build --quiet --release --bin commoncert

# run FLAGS...: prints "unique cpu_s rss_mib ended"
run() {
    local out err
    out=$(mktemp)
    err=$(mktemp)
    timeout "$limit" /usr/bin/time -f "%U %S %M" -o "$err" \
        target/release/commoncert check --threads 1 --max-memory "$memory" "$@" >"$out" 2>/dev/null || true
    local unique ended
    unique=$(grep -oE '^unique states [0-9]+' "$out" | grep -oE '[0-9]+' || echo "-")
    if grep -q "^search: complete" "$out"; then
        ended=complete
    elif grep -q "max-memory" "$out"; then
        ended="stopped at $memory"
    elif [ "$unique" = "-" ]; then
        ended="over ${limit}s"
    else
        ended=partial
    fi
    read -r user sys rss <<<"$(tail -1 "$err" 2>/dev/null || echo "0 0 0")"
    echo "$unique $(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.1f", u + s }') $(( ${rss:-0} / 1024 )) $ended"
    rm -f "$out" "$err"
}

factorial() {
    local n=$1 f=1
    while [ "$n" -gt 1 ]; do f=$((f * n)); n=$((n - 1)); done
    echo "$f"
}

echo "commoncert check --actions $actions: growth with and without --symmetry"
printf '| users M | services N | unique states | CPU s | MiB | with --symmetry | CPU s | MiB | reduction | ideal M! | (M!·N!) |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in $services; do
    for m in $users; do
        read -r pu pc pm pe <<<"$(run --users "$m" --services "$n" --actions "$actions")"
        read -r su sc sm se <<<"$(run --users "$m" --services "$n" --actions "$actions" --symmetry)"
        [ "$pe" = complete ] || pu="$pu ($pe)"
        [ "$se" = complete ] || su="$su ($se)"
        reduction=$(awk -v a="${pu%% *}" -v b="${su%% *}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }')
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
            "$m" "$n" "$pu" "$pc" "$pm" "$su" "$sc" "$sm" "$reduction" "$(factorial "$m")" "$(( $(factorial "$m") * $(factorial "$n") ))"
    done
done
