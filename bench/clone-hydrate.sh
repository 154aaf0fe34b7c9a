#!/bin/bash
# Full hydration of a clone vs `cp` of the same source, side by side in one
# hyperfine run. Both end with the destination's data on disk: cp is
# followed by `sync -f` on the copy, the clone flushes its destination
# before each metadata commit.
#   usage: bench/clone-hydrate.sh [SIZE_MIB] [RUNS]     (default 1024 MiB, 3 runs)
# GDMSETUP_BIN=path uses a built gdmsetup (else one is built into the work dir).
# Work files live in ${BENCH_DIR:-/tmp/clone-bench} (2 x SIZE + 16 MiB).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
MIB=${1:-1024} RUNS=${2:-3}
W=${BENCH_DIR:-/tmp/clone-bench}
mkdir -p "$W"
BIN=${GDMSETUP_BIN:-}
if [ -z "$BIN" ]; then BIN=$W/gdmsetup; (cd "$HERE/.." && go build -o "$BIN" ./cmd/gdmsetup); fi
command -v hyperfine >/dev/null || { echo "clone-hydrate.sh: hyperfine is not installed" >&2; exit 2; }
[ "$(stat -c %s "$W/src.img" 2>/dev/null || echo 0)" = $((MIB << 20)) ] ||
  head -c $((MIB << 20)) /dev/urandom >"$W/src.img"
SECTORS=$((MIB << 11))
STATE=$W/state
# One clone run: fresh metadata and destination, create, `wait` hydrates in
# the foreground until the completion event, then remove.
cat >"$W/clone-run.sh" <<RUN
#!/bin/bash
set -e
rm -rf "$STATE"; truncate -s 0 "$W/meta.img" "$W/dest.img"
truncate -s 16M "$W/meta.img"; truncate -s ${MIB}M "$W/dest.img"
"$BIN" --dir "$STATE" create cl --table "0 $SECTORS clone $W/meta.img $W/dest.img $W/src.img \$1 0 4 hydration_threshold \$2 hydration_batch_size \$3"
"$BIN" --dir "$STATE" wait cl
"$BIN" --dir "$STATE" status cl | grep -q " \$(( $SECTORS / \$1 ))/\$(( $SECTORS / \$1 )) "
"$BIN" --dir "$STATE" remove cl
RUN
chmod +x "$W/clone-run.sh"
hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$W/result.md" \
  -n "cp + sync" "rm -f $W/copy.img; cp $W/src.img $W/copy.img; sync -f $W/copy.img" \
  -n "clone 4K regions, 1 MiB batches" "$W/clone-run.sh 8 1024 256" \
  -n "clone 64K regions, 1 MiB batches" "$W/clone-run.sh 128 64 16" \
  -n "clone defaults (4K, 1 in flight)" "$W/clone-run.sh 8 1 1"
cat "$W/result.md"
