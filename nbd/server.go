package nbd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Defaults for the Server's zero-valued limits.
const (
	DefaultMaxRequestBytes  = 32 << 20
	DefaultMaxInFlight      = 64
	DefaultHandshakeTimeout = 30 * time.Second
)

// Server serves Exports over NBD (fixed newstyle). Its fields must be set before Serve and not
// changed afterwards; one Server may Serve several listeners at once.
type Server struct {
	Exports Exports
	// ReadOnly exports every device read-only, whatever the Export says.
	ReadOnly bool
	// Logf, if set, receives one line per connection event and per protocol error.
	Logf func(format string, args ...any)
	// MaxRequestBytes bounds READ and WRITE lengths (advertised as the maximum block size);
	// 0 means DefaultMaxRequestBytes. At most 64 MiB.
	MaxRequestBytes uint32
	// MaxInFlight bounds the requests being served at once on one connection, a READ or WRITE
	// counting once per started 64 KiB of data; 0 means DefaultMaxInFlight. The server stops
	// reading requests from a client at the bound.
	MaxInFlight int
	// HandshakeTimeout bounds the whole option negotiation, a TLS handshake included; 0 means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// TLSConfig, when set, lets a client upgrade its connection to TLS with NBD_OPT_STARTTLS
	// (see starttls.go); it must hold the server's certificate (LoadTLSCertificates makes one).
	// When nil, STARTTLS is refused with NBD_REP_ERR_POLICY.
	TLSConfig *tls.Config
	// RequireTLS answers every option but STARTTLS and ABORT with NBD_REP_ERR_TLS_REQD until the
	// connection is upgraded (the protocol's FORCEDTLS mode); it needs TLSConfig.
	RequireTLS bool

	pool bufPool
}

// Serve accepts clients on l until ctx is done or l fails. On ctx done it stops accepting and
// stops reading new requests, lets in-flight requests finish and reply, flushes every open
// writable export, closes the connections and returns nil once all of them are gone. If l
// fails it shuts the connections down the same way and returns the listener's error.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.Exports == nil {
		return errors.New("nbd: Server.Exports is nil")
	}
	if s.MaxRequestBytes > 1<<maxClass {
		return fmt.Errorf("nbd: MaxRequestBytes %d above the limit %d", s.MaxRequestBytes, 1<<maxClass)
	}
	if s.RequireTLS && s.TLSConfig == nil {
		return errors.New("nbd: Server.RequireTLS without a TLSConfig")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			cancel()
			return fmt.Errorf("nbd: accept on %s: %w", l.Addr(), err)
		}
		c := s.newConn(nc)
		wg.Go(func() { c.serve(ctx) })
	}
}

// logf logs through Logf when it is set.
func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// maxRequestBytes is MaxRequestBytes or its default.
func (s *Server) maxRequestBytes() uint32 {
	if s.MaxRequestBytes == 0 {
		return DefaultMaxRequestBytes
	}
	return s.MaxRequestBytes
}

// maxInFlight is MaxInFlight or its default.
func (s *Server) maxInFlight() int {
	if s.MaxInFlight <= 0 {
		return DefaultMaxInFlight
	}
	return s.MaxInFlight
}

// handshakeTimeout is HandshakeTimeout or its default.
func (s *Server) handshakeTimeout() time.Duration {
	if s.HandshakeTimeout <= 0 {
		return DefaultHandshakeTimeout
	}
	return s.HandshakeTimeout
}
