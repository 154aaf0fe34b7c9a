// Command nbdfile serves one file through package nbd, for benchmarks only (bench/nbd-bench.sh)
// until `gdmsetup serve` exists.
//
//	nbdfile -file /dev/shm/disk.img -laddr 127.0.0.1:20814
//	nbdfile -file /dev/shm/disk.img -network unix -laddr /tmp/nbdfile.sock
//	nbdfile -direct -file /var/tmp/disk.img -laddr 127.0.0.1:20814
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/gdmsetup/gdmsetup/nbd"
)

func main() {
	file := flag.String("file", "", "file to export")
	network := flag.String("network", "tcp", "tcp or unix")
	laddr := flag.String("laddr", "127.0.0.1:10809", "listen address or socket path")
	name := flag.String("name", "", "export name (the empty name also selects it)")
	readOnly := flag.Bool("read-only", false, "export read-only")
	direct := flag.Bool("direct", false, "aligned I/O with O_DIRECT")
	inflight := flag.Int("inflight", 0, "requests in flight per connection (0 = default)")
	verbose := flag.Bool("v", false, "log connections and protocol errors")
	procs := flag.Int("procs", 0, "GOMAXPROCS; 0 = 4 per CPU with -direct, else the Go default")
	flag.Parse()
	// With O_DIRECT every request blocks its thread in pread/pwrite for the device latency;
	// while a P waits in a system call the reader and other requests wait for the runtime to
	// hand it over. More Ps than CPUs keep requests overlapping (measured: 4 KiB random qd32
	// reads 0.58x -> 1.31x qemu-nbd --aio=native, see docs/nbd.md).
	switch {
	case *procs > 0:
		runtime.GOMAXPROCS(*procs)
	case *direct:
		runtime.GOMAXPROCS(4 * runtime.NumCPU())
	}
	if *file == "" {
		log.Fatal("nbdfile: -file is required")
	}
	exp, err := nbd.OpenFileExport(*file, *readOnly, *direct)
	if err != nil {
		log.Fatal(err)
	}
	defer exp.Close()
	if *network == "unix" {
		os.Remove(*laddr)
	}
	l, err := net.Listen(*network, *laddr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &nbd.Server{Exports: nbd.StaticExports{*name: exp}, MaxInFlight: *inflight}
	if *verbose {
		srv.Logf = log.Printf
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx, l); err != nil {
		log.Print(err)
	}
	if *network == "unix" {
		os.Remove(*laddr)
	}
}
