package verity

import "sync"

// hashCacheBytes bounds the hash blocks kept verified (dm-bufio keeps what
// memory allows; this is enough for the level-0 blocks of 4 GiB of 4 KiB
// data blocks with sha256).
const hashCacheBytes = 32 << 20

// hashCache holds hash blocks whose digest was verified (dm-bufio's
// buffers with hash_verified set): a read finding its level-0 block here
// needs no walk from the root. A block is never changed once put; when
// full, a put drops another block, which is then read and verified again
// when needed. mu guards blocks.
type hashCache struct {
	mu        sync.Mutex
	blocks    map[uint64][]byte
	maxBlocks int
}

func newHashCache(hashBlockBytes int) *hashCache {
	return &hashCache{blocks: make(map[uint64][]byte), maxBlocks: max(hashCacheBytes/hashBlockBytes, 16)}
}

// get returns the verified contents of hash block n, or nil.
func (c *hashCache) get(n uint64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocks[n]
}

// put records hash block n as verified with contents data (not changed
// afterwards).
func (c *hashCache) put(n uint64, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.blocks) >= c.maxBlocks {
		for k := range c.blocks {
			delete(c.blocks, k)
			break
		}
	}
	c.blocks[n] = data
}

// reset drops every block (dm_bufio_client_reset).
func (c *hashCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.blocks)
}
