package nbd

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// RootTLSCertificatesDir is where nbdkit run as root without --tls-certificates looks for
// certificates: $sysconfdir/pki/nbdkit, /etc/pki/nbdkit as distributions build it (nbdkit
// --dump-config: root_tls_certificates_dir).
const RootTLSCertificatesDir = "/etc/pki/nbdkit"

// DefaultTLSCertificateDirs are the directories nbdkit searches, in order, when
// --tls-certificates is not given (nbdkit-tls(1)): $HOME/.pki/nbdkit then
// $HOME/.config/pki/nbdkit for a user other than root (none without a HOME), and
// RootTLSCertificatesDir for root (euid 0), whatever its HOME.
func DefaultTLSCertificateDirs(euid int, home string) []string {
	if euid == 0 {
		return []string{RootTLSCertificatesDir}
	}
	if home == "" {
		return nil
	}
	return []string{filepath.Join(home, ".pki", "nbdkit"), filepath.Join(home, ".config", "pki", "nbdkit")}
}

// FindTLSCertificates returns the first of dirs where CACertFile, ServerCertFile and
// ServerKeyFile can all be read, which is nbdkit's test for a certificates directory (a
// directory missing one of them is passed over; what is wrong inside the one chosen is
// LoadTLSCertificates's to say). When none qualifies, the error names every directory
// searched.
func FindTLSCertificates(dirs []string) (string, error) {
	for _, dir := range dirs {
		ok := true
		for _, name := range []string{CACertFile, ServerCertFile, ServerKeyFile} {
			ok = ok && unix.Access(filepath.Join(dir, name), unix.R_OK) == nil
		}
		if ok {
			return dir, nil
		}
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("no TLS certificates directory to search (no HOME)")
	}
	return "", fmt.Errorf("no TLS certificates found: searched %s (each needs %s, %s and %s)", strings.Join(dirs, ", "), CACertFile, ServerCertFile, ServerKeyFile)
}
