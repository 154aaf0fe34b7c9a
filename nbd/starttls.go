package nbd

import (
	"crypto/tls"
	"fmt"
)

// optStartTLS answers NBD_OPT_STARTTLS. Refusals (data with the option, a server without
// TLSConfig, a connection already upgraded) are option errors and haggling goes on. On
// NBD_REP_ACK the TLS handshake follows at once on the socket and option haggling restarts
// inside TLS, with the options negotiated before forgotten (structured replies and the meta
// context must be negotiated again, as the protocol asks of the client). An error returned
// ends the connection: once the ACK is sent, there is no going back to plain text.
func (c *conn) optStartTLS(data []byte) error {
	switch {
	case len(data) != 0:
		return c.optReply(optStartTLS, repErrInvalid, fmt.Appendf(nil, "NBD_OPT_STARTTLS takes no data, got %d bytes", len(data)))
	case c.s.TLSConfig == nil:
		return c.optReply(optStartTLS, repErrPolicy, []byte("TLS is not enabled on this server"))
	case c.tls:
		return c.optReply(optStartTLS, repErrInvalid, []byte("TLS is already in use on this connection"))
	}
	// A client must wait for the reply: plain bytes already sent would otherwise be taken as
	// coming from inside TLS (the STARTTLS command injection of other protocols).
	if n := c.br.Buffered(); n > 0 {
		return fmt.Errorf("NBD_OPT_STARTTLS: %d bytes sent before the reply", n)
	}
	if err := c.optReply(optStartTLS, repAck, nil); err != nil {
		return err
	}
	tc := tls.Server(c.nc, c.s.TLSConfig)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("NBD_OPT_STARTTLS: TLS handshake: %w", err)
	}
	c.nc, c.tls = tc, true
	c.br.Reset(tc)
	c.structured, c.metaSet, c.metaName = false, false, ""
	st := tc.ConnectionState()
	peer := "no client certificate"
	if len(st.PeerCertificates) > 0 {
		peer = "client " + st.PeerCertificates[0].Subject.String()
	}
	c.s.logf("nbd: client %s: %s, %s, %s", c.nc.RemoteAddr(), tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), peer)
	return nil
}
