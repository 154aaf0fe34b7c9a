package cache

import (
	"sync"

	"github.com/gdmsetup/gdmsetup/targets"
)

// shared is the kernel's list of open cache metadata objects (table_lock,
// lookup_or_open): tables of one process on the same metadata device share
// one metadata object, as a table reloaded over a live one does in the
// kernel. The mutex protects m; a metadata object itself is used under
// the Cache.mu of the tables sharing it, one at a time (a reload's table
// does no I/O before its resume, which suspends the other).
var shared struct {
	sync.Mutex
	m map[string]*sharedMD
}

type sharedMD struct {
	md   *metadata
	refs int
}

// sharedMetadata returns the metadata object open on dev in this process,
// or opens one with open.
func sharedMetadata(dev targets.Dev, open func() (*metadata, error)) (*metadata, error) {
	shared.Lock()
	defer shared.Unlock()
	if s, ok := shared.m[dev.Name()]; ok {
		s.refs++
		return s.md, nil
	}
	md, err := open()
	if err != nil {
		return nil, err
	}
	if shared.m == nil {
		shared.m = map[string]*sharedMD{}
	}
	shared.m[dev.Name()] = &sharedMD{md: md, refs: 1}
	return md, nil
}

// releaseMetadata is dm_cache_metadata_close: the last table to let go
// drops the object (nothing is written).
func releaseMetadata(md *metadata) {
	shared.Lock()
	defer shared.Unlock()
	name := md.dev.Name()
	if s, ok := shared.m[name]; ok && s.md == md {
		if s.refs--; s.refs == 0 {
			delete(shared.m, name)
		}
	}
}
