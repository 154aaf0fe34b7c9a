package nbd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pojntfx/go-nbd/pkg/protocol"
)

// Negotiation limits: option data above maxOptionBytes is refused with NBD_REP_ERR_TOO_BIG and
// a disconnect; names above maxNameBytes (the spec's limit) are invalid; a client gets at most
// maxOptions options before it is dropped.
const (
	maxOptionBytes = 64 << 10
	maxNameBytes   = 4096
	maxOptions     = 256
	preferredBlock = 4096
)

// errAbort reports that the client ended the negotiation with NBD_OPT_ABORT.
var errAbort = errors.New("client sent NBD_OPT_ABORT")

// negotiate runs the fixed newstyle handshake. It returns true once an export is open and the
// connection is in the transmission phase; false with a nil error if the client left cleanly.
func (c *conn) negotiate() (bool, error) {
	var hello [18]byte
	binary.BigEndian.PutUint64(hello[0:], magicNBD)
	binary.BigEndian.PutUint64(hello[8:], magicOption)
	binary.BigEndian.PutUint16(hello[16:], flagFixedNewstyle|flagNoZeroes)
	if _, err := c.nc.Write(hello[:]); err != nil {
		return false, fmt.Errorf("greeting: %w", err)
	}
	var cf [4]byte
	if _, err := io.ReadFull(c.br, cf[:]); err != nil {
		return false, fmt.Errorf("client flags: %w", err)
	}
	flags := binary.BigEndian.Uint32(cf[:])
	if flags&^uint32(flagFixedNewstyle|flagNoZeroes) != 0 {
		return false, fmt.Errorf("client flags %#x: unknown bits", flags)
	}
	c.noZeroes = flags&uint32(flagNoZeroes) != 0
	for i := 0; i < maxOptions; i++ {
		done, err := c.option()
		if errors.Is(err, errAbort) {
			return false, nil
		}
		if err != nil || done {
			return done, err
		}
	}
	return false, fmt.Errorf("more than %d options", maxOptions)
}

// option reads and answers one option; done is true when the client entered transmission.
func (c *conn) option() (done bool, err error) {
	var hb [16]byte
	if _, err := io.ReadFull(c.br, hb[:]); err != nil {
		return false, fmt.Errorf("option header: %w", err)
	}
	h := protocol.NegotiationOptionHeader{
		OptionMagic: binary.BigEndian.Uint64(hb[0:]),
		ID:          binary.BigEndian.Uint32(hb[8:]),
		Length:      binary.BigEndian.Uint32(hb[12:]),
	}
	if h.OptionMagic != magicOption {
		return false, fmt.Errorf("option header: bad magic %#x", h.OptionMagic)
	}
	if h.Length > maxOptionBytes {
		c.optReply(h.ID, repErrTooBig, []byte("option data too large"))
		return false, fmt.Errorf("option %d: %d bytes of data, limit %d", h.ID, h.Length, maxOptionBytes)
	}
	data := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, data); err != nil {
		return false, fmt.Errorf("option %d data: %w", h.ID, err)
	}
	if c.s.RequireTLS && !c.tls && h.ID != optStartTLS && h.ID != optAbort {
		if h.ID == optExportName {
			return false, fmt.Errorf("NBD_OPT_EXPORT_NAME %q before NBD_OPT_STARTTLS: TLS is required", data)
		}
		return false, c.optReply(h.ID, repErrTLSReqd, []byte("TLS is required: send NBD_OPT_STARTTLS first"))
	}
	switch h.ID {
	case optStartTLS:
		return false, c.optStartTLS(data)
	case optExportName:
		return c.optExportName(data)
	case optAbort:
		c.optReply(h.ID, repAck, nil)
		return false, errAbort
	case optList:
		if len(data) != 0 {
			return false, c.optReply(h.ID, repErrInvalid, []byte("NBD_OPT_LIST takes no data"))
		}
		for _, name := range c.s.Exports.List() {
			if len(name) > maxNameBytes {
				continue
			}
			b := binary.BigEndian.AppendUint32(nil, uint32(len(name)))
			if err := c.optReply(h.ID, repServer, append(b, name...)); err != nil {
				return false, err
			}
		}
		return false, c.optReply(h.ID, repAck, nil)
	case optInfo, optGo:
		return c.optInfoGo(h.ID, data)
	case optStructuredReply:
		if len(data) != 0 {
			return false, c.optReply(h.ID, repErrInvalid, []byte("NBD_OPT_STRUCTURED_REPLY takes no data"))
		}
		c.structured = true
		return false, c.optReply(h.ID, repAck, nil)
	case optListMetaContext, optSetMetaContext:
		return false, c.optMetaContext(h.ID, data)
	}
	return false, c.optReply(h.ID, repErrUnsupported, fmt.Appendf(nil, "option %d not supported", h.ID))
}

// optReply sends one option reply.
func (c *conn) optReply(opt, typ uint32, data []byte) error {
	b := make([]byte, 20, 20+len(data))
	binary.BigEndian.PutUint64(b[0:], magicOptionReply)
	binary.BigEndian.PutUint32(b[8:], opt)
	binary.BigEndian.PutUint32(b[12:], typ)
	binary.BigEndian.PutUint32(b[16:], uint32(len(data)))
	if _, err := c.nc.Write(append(b, data...)); err != nil {
		return fmt.Errorf("option %d reply: %w", opt, err)
	}
	return nil
}

// optExportName handles the old NBD_OPT_EXPORT_NAME: on success the export's size and flags
// follow directly; an unknown export can only be answered by closing the connection.
func (c *conn) optExportName(data []byte) (bool, error) {
	if len(data) > maxNameBytes {
		return false, fmt.Errorf("NBD_OPT_EXPORT_NAME: name of %d bytes", len(data))
	}
	if err := c.open(string(data)); err != nil {
		return false, fmt.Errorf("NBD_OPT_EXPORT_NAME %q: %w", data, err)
	}
	b := make([]byte, 10, 10+124)
	binary.BigEndian.PutUint64(b[0:], uint64(c.sizeB))
	binary.BigEndian.PutUint16(b[8:], c.transmissionFlags())
	if !c.noZeroes {
		b = b[:10+124]
	}
	if _, err := c.nc.Write(b); err != nil {
		c.release()
		return false, fmt.Errorf("NBD_OPT_EXPORT_NAME reply: %w", err)
	}
	return true, nil
}

// parseInfoRequest decodes the data of NBD_OPT_INFO and NBD_OPT_GO: a name and a list of
// requested information types.
func parseInfoRequest(data []byte) (name string, infos []uint16, err error) {
	if len(data) < 6 {
		return "", nil, fmt.Errorf("%d bytes of data, want at least 6", len(data))
	}
	nameLen := binary.BigEndian.Uint32(data)
	if nameLen > maxNameBytes || uint64(nameLen) > uint64(len(data)-6) {
		return "", nil, fmt.Errorf("name length %d does not fit in %d bytes of data", nameLen, len(data))
	}
	name = string(data[4 : 4+nameLen])
	rest := data[4+nameLen:]
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) != 2*n {
		return "", nil, fmt.Errorf("%d information requests need %d bytes, got %d", n, 2*n, len(rest))
	}
	for i := 0; i < n; i++ {
		infos = append(infos, binary.BigEndian.Uint16(rest[2*i:]))
	}
	return name, infos, nil
}

// optInfoGo answers NBD_OPT_INFO (describe an export) and NBD_OPT_GO (describe and enter
// transmission).
func (c *conn) optInfoGo(opt uint32, data []byte) (bool, error) {
	name, infos, err := parseInfoRequest(data)
	if err != nil {
		return false, c.optReply(opt, repErrInvalid, []byte(err.Error()))
	}
	if err := c.open(name); err != nil {
		return false, c.optReply(opt, repErrUnknown, []byte(err.Error()))
	}
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], infoExport)
	binary.BigEndian.PutUint64(b[2:], uint64(c.sizeB))
	binary.BigEndian.PutUint16(b[10:], c.transmissionFlags())
	err = c.optReply(opt, repInfo, b)
	for _, info := range infos {
		if err == nil && info == infoName {
			err = c.optReply(opt, repInfo, append(binary.BigEndian.AppendUint16(nil, infoName), name...))
		}
	}
	if err == nil {
		b := make([]byte, 14)
		binary.BigEndian.PutUint16(b[0:], infoBlockSize)
		binary.BigEndian.PutUint32(b[2:], 1)
		binary.BigEndian.PutUint32(b[6:], preferredBlock)
		binary.BigEndian.PutUint32(b[10:], c.s.maxRequestBytes())
		err = c.optReply(opt, repInfo, b)
	}
	if err == nil {
		err = c.optReply(opt, repAck, nil)
	}
	if opt == optInfo || err != nil {
		c.release()
		c.exp, c.release = nil, nil
		return false, err
	}
	return true, nil
}

// open opens the named export for this connection and fixes the per-export state.
func (c *conn) open(name string) error {
	exp, release, err := c.s.Exports.Open(name)
	if err != nil {
		return err
	}
	if release == nil {
		release = func() {}
	}
	if exp.Size() < 0 {
		release()
		return fmt.Errorf("export %q: negative size %d", name, exp.Size())
	}
	c.name, c.exp, c.release = name, exp, release
	c.sizeB = exp.Size()
	c.readOnly = c.s.ReadOnly || exp.ReadOnly()
	c.metaAlloc = c.metaSet && c.metaName == name
	return nil
}

// transmissionFlags are the flags advertised for the open export. CACHE is offered on every
// export (see conn.cache); FAST_ZERO with WRITE_ZEROES on writable ones (see writeZeroesFast).
func (c *conn) transmissionFlags() uint16 {
	f := transHasFlags | transSendFlush | transSendFUA | transCanMultiConn | transSendCache
	if c.readOnly {
		f |= transReadOnly
	} else {
		f |= transSendTrim | transSendWriteZeros | transSendFastZero
	}
	if c.structured {
		f |= transSendDF
	}
	return f
}

// parseMetaRequest decodes the data of NBD_OPT_LIST_META_CONTEXT and SET_META_CONTEXT: an
// export name and a list of context queries.
func parseMetaRequest(data []byte) (name string, queries []string, err error) {
	if len(data) < 8 {
		return "", nil, fmt.Errorf("%d bytes of data, want at least 8", len(data))
	}
	nameLen := binary.BigEndian.Uint32(data)
	if nameLen > maxNameBytes || uint64(nameLen) > uint64(len(data)-8) {
		return "", nil, fmt.Errorf("name length %d does not fit in %d bytes of data", nameLen, len(data))
	}
	name = string(data[4 : 4+nameLen])
	rest := data[4+nameLen:]
	n := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	for i := uint32(0); i < n; i++ {
		if len(rest) < 4 {
			return "", nil, fmt.Errorf("query %d of %d: truncated length", i, n)
		}
		l := binary.BigEndian.Uint32(rest)
		if uint64(l) > uint64(len(rest)-4) {
			return "", nil, fmt.Errorf("query %d of %d: length %d past the data", i, n, l)
		}
		queries = append(queries, string(rest[4:4+l]))
		rest = rest[4+l:]
	}
	if len(rest) != 0 {
		return "", nil, fmt.Errorf("%d bytes after the last query", len(rest))
	}
	return name, queries, nil
}

// optMetaContext answers LIST_META_CONTEXT and SET_META_CONTEXT. The only context is
// base:allocation; LIST with no queries or the query "base:" lists it.
func (c *conn) optMetaContext(opt uint32, data []byte) error {
	if !c.structured {
		return c.optReply(opt, repErrInvalid, []byte("meta contexts need NBD_OPT_STRUCTURED_REPLY first"))
	}
	name, queries, err := parseMetaRequest(data)
	if err != nil {
		return c.optReply(opt, repErrInvalid, []byte(err.Error()))
	}
	_, release, err := c.s.Exports.Open(name)
	if err != nil {
		return c.optReply(opt, repErrUnknown, []byte(err.Error()))
	}
	if release != nil {
		release()
	}
	match := false
	for _, q := range queries {
		match = match || q == metaBaseAllocation || (opt == optListMetaContext && q == "base:")
	}
	if opt == optListMetaContext && len(queries) == 0 {
		match = true
	}
	if opt == optSetMetaContext {
		c.metaSet, c.metaName = match, name
	}
	if match {
		b := binary.BigEndian.AppendUint32(nil, metaContextIDAlloc)
		if err := c.optReply(opt, repMetaContext, append(b, metaBaseAllocation...)); err != nil {
			return err
		}
	}
	return c.optReply(opt, repAck, nil)
}
