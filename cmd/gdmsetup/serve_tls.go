package main

import (
	"crypto/tls"
	"fmt"

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
// to off otherwise; --tls=on without certificates serves in plain text with a
// warning; --tls=require without them, and any file missing, unreadable or not
// matching, is an error naming it. nbdkit's built-in certificate directories are not
// searched, and --tls-psk is refused: Go's crypto/tls has no TLS-PSK.
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
		if mode == "require" {
			return serveTLS{}, usageError("--tls=require needs --tls-certificates DIR (holding ca-cert.pem, server-cert.pem, server-key.pem)")
		}
		return serveTLS{warning: "--tls=on without --tls-certificates: serving without TLS"}, nil
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
