#!/bin/bash
# Side-by-side NBD server benchmark: nbdkit file plugin vs qemu-nbd vs gdmsetup's package nbd
# (bench/nbdfile until `gdmsetup serve` exists), with the client commands of
# /work/shared/bench-peers/README.md. Targets alternate within every test and the start target
# rotates each round, so machine drift hits all of them; ratios are paired per round.
#
# usage: bench/nbd-bench.sh [ROUNDS] [OUT.csv] [storage...]
#   storage: shm        file on tmpfs (/dev/shm), servers buffered, TCP and unix socket
#            diskdirect file on ext4 (/var/tmp) with O_DIRECT: qemu-nbd --cache=none --aio=native,
#                       nbdfile -direct; nbdkit 1.32 has no O_DIRECT, it runs with cache=none
#                       (page-cache eviction); TCP only
# env:   QUICK=1        256 MiB files, 2 s per random test, defaults to 1 round (a few minutes)
#        RT=N           seconds per time-based fio run (after 1 s ramp); default 4 (2 with QUICK)
#        TESTS="..."    subset of: nbdcopy_read nbdcopy_write seqread seqwrite randread_qd1
#                       randread_qd32 randwrite_qd1 randwrite_qd32
#        NBDSERVER=cmd  our server command, given -file F [-direct] -network N -laddr A
#                       (default: go build ./bench/nbdfile)
# Every server is started here on 127.0.0.1 or a unix socket and stopped here by its PID.
# Runs are serialized with flock on /tmp/nbdbench-gdm.lock (two runs at once would share ports
# and CPUs); each run has its own directory for sockets and logs.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then SIZE_MB=256; RT=${RT:-2}; DEF_ROUNDS=1; else SIZE_MB=1024; RT=${RT:-4}; DEF_ROUNDS=3; fi
ROUNDS=${1:-$DEF_ROUNDS}; OUT=${2:-/tmp/nbdbench-gdm-results/nbd.csv}; shift 2 || shift $#
STORAGES=${*:-shm diskdirect}
TESTS=${TESTS:-nbdcopy_read nbdcopy_write seqread seqwrite randread_qd1 randread_qd32 randwrite_qd1 randwrite_qd32}
exec 9>/tmp/nbdbench-gdm.lock
flock -w 3600 9 || { echo "another nbd-bench.sh holds /tmp/nbdbench-gdm.lock" >&2; exit 1; }
RUN=$(mktemp -d /tmp/nbdbench-gdm.XXXXXX); mkdir -p "$(dirname "$OUT")"
trap 'rm -rf "$RUN"' EXIT
PY=/usr/bin/python3
SRC=/dev/shm/nbdbench-gdm/src.img
declare -A FILE=([shm]=/dev/shm/nbdbench-gdm/disk.img [diskdirect]=/var/tmp/nbdbench-gdm/disk.img)
if [ -z "${NBDSERVER:-}" ]; then
  (cd "$HERE/.." && go build -o "$RUN/nbdfile" ./bench/nbdfile) || exit 1
  NBDSERVER=$RUN/nbdfile
fi
for p in 20821 20822 20824; do
  if timeout 2 nbdinfo --size nbd://127.0.0.1:$p >/dev/null 2>&1; then
    echo "port $p already serves NBD (a server outside this script?)" >&2; exit 1
  fi
done
for b in nbdkit qemu-nbd nbdcopy fio nbdinfo; do command -v $b >/dev/null || { echo "missing $b" >&2; exit 1; }; done

# test files: random data, recreated when the size changes
mkfile() { # path
  if [ "$(stat -c %s "$1" 2>/dev/null)" != $((SIZE_MB << 20)) ]; then
    mkdir -p "$(dirname "$1")"
    if [ "$1" = "$SRC" ]; then head -c ${SIZE_MB}M /dev/urandom > "$1"; else cp "$SRC" "$1"; fi
  fi
}
mkfile "$SRC"; for st in $STORAGES; do mkfile "${FILE[$st]}"; done
[ -f "$OUT" ] || echo "round,storage,target,test,value,unit" > "$OUT"

PIDS=()
start_servers() { # storage
  local f=${FILE[$1]}
  rm -f "$RUN"/*.sock
  if [ "$1" = diskdirect ]; then
    nbdkit -f -i 127.0.0.1 -p 20821 file "$f" cache=none >"$RUN/nbdkit-tcp.log" 2>&1 & PIDS+=($!)
    qemu-nbd -f raw -t -e 8 --cache=none --aio=native -b 127.0.0.1 -p 20822 "$f" >"$RUN/qemu-tcp.log" 2>&1 & PIDS+=($!)
    $NBDSERVER -file "$f" -direct -network tcp -laddr 127.0.0.1:20824 >"$RUN/gdm-tcp.log" 2>&1 & PIDS+=($!)
  else
    nbdkit -f -i 127.0.0.1 -p 20821 file "$f" >"$RUN/nbdkit-tcp.log" 2>&1 & PIDS+=($!)
    nbdkit -f -U "$RUN/nbdkit.sock" file "$f" >"$RUN/nbdkit-unix.log" 2>&1 & PIDS+=($!)
    qemu-nbd -f raw -t -e 8 -b 127.0.0.1 -p 20822 "$f" >"$RUN/qemu-tcp.log" 2>&1 & PIDS+=($!)
    qemu-nbd -f raw -t -e 8 -k "$RUN/qemu.sock" "$f" >"$RUN/qemu-unix.log" 2>&1 & PIDS+=($!)
    $NBDSERVER -file "$f" -network tcp -laddr 127.0.0.1:20824 >"$RUN/gdm-tcp.log" 2>&1 & PIDS+=($!)
    $NBDSERVER -file "$f" -network unix -laddr "$RUN/gdm.sock" >"$RUN/gdm-unix.log" 2>&1 & PIDS+=($!)
  fi
  sleep 1
}
stop_servers() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
}
trap 'stop_servers; rm -rf "$RUN"' EXIT INT TERM

uri() {
  case $1 in
    nbdkit-tcp) echo nbd://127.0.0.1:20821 ;;  nbdkit-unix) echo "nbd+unix:///?socket=$RUN/nbdkit.sock" ;;
    qemu-tcp)   echo nbd://127.0.0.1:20822 ;;  qemu-unix)   echo "nbd+unix:///?socket=$RUN/qemu.sock" ;;
    gdm-tcp)    echo nbd://127.0.0.1:20824 ;;  gdm-unix)    echo "nbd+unix:///?socket=$RUN/gdm.sock" ;;
  esac
}

run_fio() { # target test -> value,unit
  local rw bs qd tb=""
  case $2 in
    seqread)        rw=read;      bs=1M; qd=8  ;;
    seqwrite)       rw=write;     bs=1M; qd=8  ;;
    randread_qd1)   rw=randread;  bs=4k; qd=1  ;;
    randread_qd32)  rw=randread;  bs=4k; qd=32 ;;
    randwrite_qd1)  rw=randwrite; bs=4k; qd=1  ;;
    randwrite_qd32) rw=randwrite; bs=4k; qd=32 ;;
  esac
  case $2 in rand*) tb="--time_based --runtime=$RT --ramp_time=1 --norandommap --randrepeat=0" ;; esac
  timeout 120 fio --name=b --ioengine=nbd --uri="$(uri "$1")" --rw=$rw --bs=$bs --iodepth=$qd \
      --size=${SIZE_MB}M --numjobs=1 $tb --output-format=json 2>"$RUN/fio.err" | $PY -c '
import json,sys
s=sys.stdin.read(); j=json.loads(s[s.index("{"):])["jobs"][0]; test=sys.argv[1]
d=j["read"] if "read" in test else j["write"]
print("%.1f,MiB/s"%(d["bw_bytes"]/1048576) if test.startswith("seq") else "%.0f,IOPS"%d["iops"])' "$2" || echo "NA,error"
}

run_nbdcopy() { # target test -> value,unit
  local u t0 t1 rc
  u=$(uri "$1"); t0=$(date +%s.%N)
  if [ "$2" = nbdcopy_read ]; then timeout 120 nbdcopy "$u" null: 2>"$RUN/nbdcopy.err"; rc=$?
  else timeout 120 nbdcopy "$SRC" "$u" 2>"$RUN/nbdcopy.err"; rc=$?; fi
  t1=$(date +%s.%N)
  [ $rc = 0 ] && $PY -c "print('%.1f,MiB/s'%($SIZE_MB/($t1-$t0)))" || echo "NA,error rc=$rc"
}

for st in $STORAGES; do
  case $st in
    shm)        TARGETS=(nbdkit-tcp qemu-tcp gdm-tcp nbdkit-unix qemu-unix gdm-unix) ;;
    diskdirect) TARGETS=(nbdkit-tcp qemu-tcp gdm-tcp) ;;
    *) echo "unknown storage $st" >&2; exit 1 ;;
  esac
  start_servers "$st"
  for t in "${TARGETS[@]}"; do
    timeout 5 nbdinfo --size "$(uri "$t")" >/dev/null 2>&1 || echo "WARN: $t not answering" >&2
  done
  n=${#TARGETS[@]}
  for r in $(seq 1 "$ROUNDS"); do
    for test in $TESTS; do
      for i in $(seq 0 $((n-1))); do
        t=${TARGETS[$(( (i + r - 1) % n ))]}
        case $test in nbdcopy_*) v=$(run_nbdcopy "$t" "$test") ;; *) v=$(run_fio "$t" "$test") ;; esac
        echo "$r,$st,$t,$test,$v" | tee -a "$OUT"
      done
    done
  done
  stop_servers
done
$PY "$HERE/nbd-summary.py" "$OUT"
