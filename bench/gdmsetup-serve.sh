#!/bin/bash
# NBDSERVER adapter for bench/nbd-bench.sh: serves the file through `gdmsetup serve` as one linear
# device spanning it (export name "lin", also the default export), so the benchmark measures the
# device-mapper path (table lookup, I/O gate) on top of package nbd.
#   usage: bench/gdmsetup-serve.sh -file F [-direct] -network tcp|unix -laddr ADDR
#   NBDSERVER=$PWD/bench/gdmsetup-serve.sh bench/nbd-bench.sh ...   (the "gdm-*" targets)
# GDMSETUP_BIN=path uses a built gdmsetup (else one is built per start, which may outlast the
# benchmark's 1 s start-up wait: build it first to avoid the "not answering" warning).
# -direct becomes `serve --direct`: the file is opened with O_DIRECT too and aligned I/O bypasses
# the page cache (as qemu-nbd --cache=none).
# The state directory is /tmp/nbdbench-gdm/state-PID; the server replaces this shell (exec), so
# the benchmark stops it by its PID with SIGTERM (a clean shutdown).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
FILE= NET=tcp ADDR= DIRECT=
while [ $# -gt 0 ]; do
  case $1 in
    -file) FILE=$2; shift 2 ;;
    -network) NET=$2; shift 2 ;;
    -laddr) ADDR=$2; shift 2 ;;
    -direct) DIRECT=--direct; shift ;;
    *) echo "gdmsetup-serve.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$FILE" ] && [ -n "$ADDR" ] || { echo "usage: $0 -file F [-direct] -network tcp|unix -laddr ADDR" >&2; exit 2; }
RUN=/tmp/nbdbench-gdm; mkdir -p "$RUN"
BIN=${GDMSETUP_BIN:-}
if [ -z "$BIN" ]; then BIN=$RUN/gdmsetup-$$; (cd "$HERE/.." && go build -o "$BIN" ./cmd/gdmsetup); fi
STATE=$RUN/state-$$; rm -rf "$STATE"
SECTORS=$(( $(stat -c %s "$FILE") / 512 ))
"$BIN" --dir "$STATE" create lin --table "0 $SECTORS linear $FILE 0"
if [ "$NET" = unix ]; then exec "$BIN" --dir "$STATE" serve $DIRECT --socket "$ADDR"; fi
exec "$BIN" --dir "$STATE" serve $DIRECT --listen "$ADDR"
