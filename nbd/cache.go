package nbd

import (
	"fmt"
	"io"
)

// Cacher is implemented by exports that can prefetch a range for NBD_CMD_CACHE without reading
// it through ReadAt (a file: posix_fadvise WILLNEED).
type Cacher interface {
	// Cache asks for the range to be brought into faster storage so that reads of it soon
	// after are faster. It may return before the data is there, and it changes nothing that
	// a read returns.
	Cache(offBytes, lenBytes int64) error
}

// cacheChunkBytes is the size of the reads by which cache warms an export without Cacher.
const cacheChunkBytes = 1 << 20

// cache serves NBD_CMD_CACHE over a range checkRequest has checked. An export without Cacher
// has the range read into a scratch buffer and dropped, as nbdkit does for plugins that cannot
// cache themselves: that brings it into whatever caches lie under the export (its files' page
// cache, a thin pool's mapping blocks). Any length is accepted; a read error fails the request.
func (c *conn) cache(offBytes, lenBytes int64) error {
	if ca, ok := c.exp.(Cacher); ok {
		return ca.Cache(offBytes, lenBytes)
	}
	chunkBytes := min(lenBytes, cacheChunkBytes)
	buf := c.s.pool.get(int(chunkBytes))
	defer c.s.pool.put(buf)
	p := buf.data(int(chunkBytes))
	for lenBytes > 0 {
		n := min(lenBytes, chunkBytes)
		got, err := c.exp.ReadAt(p[:n], offBytes)
		if got == int(n) {
			err = nil
		} else if err == nil {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return fmt.Errorf("cache: read at %d+%d: %w", offBytes, n, err)
		}
		offBytes, lenBytes = offBytes+n, lenBytes-n
	}
	return nil
}
