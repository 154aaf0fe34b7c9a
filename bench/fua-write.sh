#!/bin/bash
# FUA writes over NBD, side by side: nbdkit's file plugin against `gdmsetup serve` of a table of
# two linear lines, each over a file of its own (the writes go to the first). The client is
# `qemu-img bench -w -t writethrough`: with writethrough every write carries NBD_CMD_FLAG_FUA.
# nbdkit makes a FUA write a pwrite then fdatasync of its file; gdmsetup sends the linear target a
# FUA write (pwritev2 RWF_DSYNC on its file), where before this it wrote then flushed the whole
# device (both files). Servers alternate per round; each is started here on a unix socket and
# stopped here by its PID (and bounded by timeout).
#   usage: bench/fua-write.sh [ROUNDS] [COUNT]      (defaults 3 rounds of 2000 4 KiB writes, depth 1)
# env: DIR=/var/tmp/fua-bench (files on a real file system: tmpfs makes syncs free)
#      GDMSETUP_BIN=path: that gdmsetup (e.g. one built before FUA writes reached the targets)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${1:-3} COUNT=${2:-2000}
DIR=${DIR:-/var/tmp/fua-bench}
for b in nbdkit qemu-img; do command -v $b >/dev/null || { echo "missing $b" >&2; exit 1; }; done
RUN=$(mktemp -d); mkdir -p "$DIR"
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$RUN" "$DIR"; }
trap cleanup EXIT
if [ -n "${GDMSETUP_BIN:-}" ]; then cp "$GDMSETUP_BIN" "$RUN/gdmsetup"; else (cd "$HERE/.." && go build -o "$RUN/gdmsetup" ./cmd/gdmsetup); fi
truncate -s 64M "$DIR/a.img" "$DIR/b.img" "$DIR/k.img"
G="$RUN/gdmsetup --dir $RUN/state"
$G create two --table "0 131072 linear $DIR/a.img 0
131072 131072 linear $DIR/b.img 0"

waitsock() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; echo "no socket $1" >&2; exit 1; }
run() { # name uri
  local out
  out=$(qemu-img bench -f raw -w -t writethrough -c "$COUNT" -d 1 -s 4096 "$2" 2>&1) || { echo "$out" >&2; exit 1; }
  echo "$out" | sed -n 's/.*Run completed in \([0-9.]*\) seconds.*/\1/p'
}
echo "round,server,seconds,fua_writes_per_s"
for r in $(seq "$ROUNDS"); do
  rm -f "$RUN"/*.sock
  timeout 300 nbdkit --foreground --unix "$RUN/k.sock" file "$DIR/k.img" & PID=$!
  waitsock "$RUN/k.sock"
  k=$(run nbdkit "nbd+unix:///?socket=$RUN/k.sock")
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  timeout 300 $G serve --socket "$RUN/g.sock" 2>/dev/null & PID=$!
  waitsock "$RUN/g.sock"
  g=$(run gdmsetup "nbd+unix:///two?socket=$RUN/g.sock")
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  echo "$r,nbdkit,$k,$(echo "$COUNT / $k" | bc)"
  echo "$r,gdmsetup,$g,$(echo "$COUNT / $g" | bc)"
  echo "# round $r: gdmsetup/nbdkit FUA writes per second: $(echo "scale=2; $k / $g" | bc)x"
done
