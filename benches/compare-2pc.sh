#!/usr/bin/env bash
# Side by side, on this machine, in one run: stateright's own examples/2pc.rs
# (7 resource managers, BFS, 1 thread) and `commoncert check` on one
# configuration, each as a whole process, reporting unique states, CPU
# seconds (user + system), unique states per CPU-second, peak memory, and the
# ratio (issue 10, "Targets").
#
# 2pc is built from the stateright crate this workspace depends on (its
# source in the cargo registry, located with `cargo metadata`), into a scratch
# crate under target/; no copy of it is kept in the tree. Its `main` is
# replaced by a one-thread BFS, because upstream's `check` runs DFS on every
# core.
#
#   benches/compare-2pc.sh                                  # the default configuration
#   benches/compare-2pc.sh --services 3 --lossy --actions 3 # any `check` flags
set -euo pipefail
cd "$(dirname "$0")/.."

flags=("$@")
if [ ${#flags[@]} -eq 0 ]; then
    flags=(--services 3 --lossy --actions 3)
fi

manifest=$(cargo metadata --format-version 1 --locked |
    jq -r '.packages[] | select(.name == "stateright") | .manifest_path')
sr=$(dirname "$manifest")
version=$(cargo metadata --format-version 1 --locked |
    jq -r '.packages[] | select(.name == "stateright") | .version')

scratch=target/compare-2pc
mkdir -p "$scratch/src"
cat > "$scratch/Cargo.toml" <<EOF
[package]
name = "compare-2pc"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
stateright = { path = "$sr" }

[workspace]
EOF
awk '/^fn main\(\)/{exit} {print}' "$sr/examples/2pc.rs" > "$scratch/src/main.rs"
cat >> "$scratch/src/main.rs" <<'EOF'
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(7);
    let c = TwoPhaseSys { rms: 0..n }.checker().threads(1).spawn_bfs().join();
    c.assert_properties();
    println!("unique {}", c.unique_state_count());
}
EOF
cargo build --quiet --release --manifest-path "$scratch/Cargo.toml" \
    --target-dir "$scratch/target"
cargo build --quiet --release --bin commoncert

# run NAME COMMAND...: prints "NAME unique cpu_s rss_kib"
run() {
    local name=$1
    shift
    local out err
    out=$(mktemp)
    err=$(mktemp)
    /usr/bin/time -f "%U %S %M" -o "$err" "$@" > "$out" 2>/dev/null || true
    local unique
    unique=$(grep -oE '(unique|unique states) [0-9]+' "$out" | head -1 | grep -oE '[0-9]+' || echo 0)
    # (time writes "Command exited with non-zero status N" first when the
    # command found violations; the figures are the last line)
    read -r user sys rss <<< "$(tail -1 "$err")"
    echo "$name $unique $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $rss"
    rm -f "$out" "$err"
}

echo "stateright $version 2pc (7 RMs, BFS, 1 thread) vs commoncert check ${flags[*]} (1 thread)"
a=$(run 2pc "$scratch/target/release/compare-2pc" 7)
b=$(run commoncert target/release/commoncert check "${flags[@]}")
printf '| run | unique states | CPU s | unique/CPU-s | peak RSS MiB | MiB per million unique |\n|---|---:|---:|---:|---:|---:|\n'
for line in "$a" "$b"; do
    read -r name unique cpu rss <<< "$line"
    awk -v n="$name" -v u="$unique" -v c="$cpu" -v r="$rss" 'BEGIN {
        printf "| %s | %d | %.2f | %.0f | %.0f | %.0f |\n", n, u, c, (c > 0 ? u / c : 0), r / 1024, (u > 0 ? r / 1024 / (u / 1e6) : 0)
    }'
done
read -r _ ua ca _ <<< "$a"
read -r _ ub cb _ <<< "$b"
awk -v ua="$ua" -v ca="$ca" -v ub="$ub" -v cb="$cb" 'BEGIN {
    printf "ratio: commoncert runs at %.0f%% of 2pc'"'"'s unique states per CPU-second\n", 100 * (ub / cb) / (ua / ca)
}'
