#!/usr/bin/env bash
# tools/bench/build_time.sh [REV...]: what a newcomer waits for. For each revision (default:
# HEAD), a clean checkout in a temporary directory is configured and built the way tools/dev
# builds (Ninja, RelWithDebInfo, every target, -j$(nproc)) with ccache off, so the build is
# cold; then one entity's rules (actors/stock/stock_rules.cpp) are touched and everything is
# built again. Prints per revision: the cold build's wall time and CPU time, the incremental
# rebuild's wall time, and the ten slowest compile steps from ninja's log. Run it on an idle
# machine: anything else running counts against the build. MERCATO_WERROR=ON builds as CI does.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
revs=("$@")
((${#revs[@]})) || revs=(HEAD)
work=$(mktemp -d)
trap 'git -C "$root" worktree prune; rm -rf "$work"' EXIT
export CCACHE_DISABLE=1

seconds() { awk '{printf "%.1f", $1}' <<<"$1"; }

for rev in "${revs[@]}"; do
  src=$work/src-$rev
  git -C "$root" worktree add -q --detach "$src" "$rev"
  cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    ${MERCATO_WERROR:+-DMERCATO_WERROR=$MERCATO_WERROR} >/dev/null
  /usr/bin/time -f '%e %U %S' -o "$work/time" cmake --build "$src/build" -j "$(nproc)" >/dev/null
  read -r wall user sys <"$work/time"
  touch "$src/actors/stock/stock_rules.cpp"
  /usr/bin/time -f '%e' -o "$work/time2" cmake --build "$src/build" -j "$(nproc)" >/dev/null
  read -r incremental <"$work/time2"
  echo "== $rev ($(git -C "$root" rev-parse --short "$rev")): $(nproc) cores"
  echo "cold build:  $(seconds "$wall") s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.1f", u + s}') s CPU," \
    "$(awk 'NR>1' "$src/build/.ninja_log" | wc -l) steps"
  echo "touch actors/stock/stock_rules.cpp, build again: $(seconds "$incremental") s wall"
  echo "slowest steps (s, from ninja's log of the cold build and the rebuild):"
  awk 'NR>1 {printf "%7.1f  %s\n", ($2-$1)/1000, $4}' "$src/build/.ninja_log" | sort -rn | head -10
  git -C "$root" worktree remove --force "$src"
done
