package cache

import (
	"encoding/base64"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// emitter is the cache tools' emitter: what a dump produces and a restore
// consumes, in document order. begin and end bracket the sections
// "mappings", "hints" and "discards".
type emitter interface {
	beginSuperblock(uuid string, blockSectors, nrCacheBlocks uint64, policy string, hintWidth uint64) error
	endSuperblock() error
	begin(section string) error
	end(section string) error
	mapping(cblock, oblock uint64, dirty bool) error
	hint(cblock uint64, data []byte) error
	discard(dbegin, dend uint64) error
}

// xmlEmitter is the tools' xml_emitter: the XML cache_dump prints.
type xmlEmitter struct{ x *tooling.XMLWriter }

func newXMLEmitter(w io.Writer) xmlEmitter { return xmlEmitter{tooling.NewXMLWriter(w)} }

func (e xmlEmitter) beginSuperblock(uuid string, blockSectors, nrCacheBlocks uint64, policy string, hintWidth uint64) error {
	e.x.Open(`<superblock uuid="%s" block_size="%d" nr_cache_blocks="%d" policy="%s" hint_width="%d">`, uuid, blockSectors, nrCacheBlocks, policy, hintWidth)
	return nil
}

func (e xmlEmitter) endSuperblock() error { e.x.Close("superblock"); return nil }

func (e xmlEmitter) begin(section string) error { e.x.Open("<%s>", section); return nil }

func (e xmlEmitter) end(section string) error { e.x.Close(section); return nil }

func (e xmlEmitter) mapping(cblock, oblock uint64, dirty bool) error {
	e.x.Line(`<mapping cache_block="%d" origin_block="%d" dirty="%t"/>`, cblock, oblock, dirty)
	return nil
}

func (e xmlEmitter) hint(cblock uint64, data []byte) error {
	e.x.Line(`<hint cache_block="%d" data="%s"/>`, cblock, base64.StdEncoding.EncodeToString(data))
	return nil
}

func (e xmlEmitter) discard(dbegin, dend uint64) error {
	e.x.Line(`<discard dbegin="%d" dend="%d"/>`, dbegin, dend)
	return nil
}
