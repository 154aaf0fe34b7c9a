package main

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/gdmsetup/gdmsetup/nbd"
)

// serveTLS is serve's TLS policy, from nbdkit's options: --tls=off|on|require,
// --tls-certificates DIR, --tls-verify-peer. config is nil when TLS is off.
type serveTLS struct {
	config  *tls.Config
	require bool
	// warning, when set, is logged at start: TLS asked for but not possible.
	warning string
}

// tlsOptions reads serve's TLS options and loads the certificates, before anything
// listens. As with nbdkit: --tls defaults to on when --tls-certificates is given and
// to off otherwise; --tls=on or --tls=require without --tls-certificates searches
// nbdkit's directories (nbd.DefaultTLSCertificateDirs: ~/.pki/nbdkit and
// ~/.config/pki/nbdkit, /etc/pki/nbdkit for root) for the first holding the three
// files; when none does, --tls=on serves in plain text with a warning and
// --tls=require is an error, both naming the directories searched. A file missing,
// unreadable or not matching in a directory given or found is an error naming it.
// --tls-psk is refused: Go's crypto/tls has no TLS-PSK.
func tlsOptions(opts options) (serveTLS, error) {
	if opts.has("tls-psk") {
		return serveTLS{}, usageError(fmt.Sprintf("--tls-psk %s: TLS with pre-shared keys is not supported (Go's crypto/tls has no PSK cipher suites); use --tls-certificates DIR", opts.str("tls-psk")))
	}
	dir := opts.str("tls-certificates")
	mode := opts.str("tls")
	if !opts.has("tls") {
		mode = "off"
		if dir != "" {
			mode = "on"
		}
	}
	switch mode {
	case "off":
		if opts.has("tls-verify-peer") {
			return serveTLS{}, usageError("--tls-verify-peer needs --tls=on or --tls=require")
		}
		return serveTLS{}, nil
	case "on", "require":
	default:
		return serveTLS{}, usageError(fmt.Sprintf("--tls=%s: want off, on or require", mode))
	}
	if dir == "" {
		found, err := nbd.FindTLSCertificates(nbd.DefaultTLSCertificateDirs(os.Geteuid(), os.Getenv("HOME")))
		if err != nil {
			if mode == "require" {
				return serveTLS{}, fmt.Errorf("--tls=require without --tls-certificates DIR: %w", err)
			}
			return serveTLS{warning: fmt.Sprintf("--tls=on without --tls-certificates: %v: serving without TLS", err)}, nil
		}
		dir = found
	}
	cfg, err := nbd.LoadTLSCertificates(dir, opts.has("tls-verify-peer"))
	if err != nil {
		return serveTLS{}, fmt.Errorf("--tls-certificates %s: %w", dir, err)
	}
	return serveTLS{config: cfg, require: mode == "require"}, nil
}

// String describes the policy for the server's log.
func (p serveTLS) String() string {
	switch {
	case p.config == nil:
		return "TLS off"
	case p.require && p.config.ClientAuth == tls.RequireAndVerifyClientCert:
		return "TLS required, client certificates verified"
	case p.require:
		return "TLS required, client certificates not asked for"
	case p.config.ClientAuth == tls.RequireAndVerifyClientCert:
		return "TLS offered, client certificates verified"
	}
	return "TLS offered, client certificates not asked for"
}
