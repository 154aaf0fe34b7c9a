package cache

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/gdmsetup/gdmsetup/pdata/tooling"
)

// parseXML is the cache tools' parse_xml: the document read from in (named
// inName in errors) fed to e element by element, as cache_dump prints it.
// An error names the input and the line.
func parseXML(in io.Reader, inName string, e emitter) error {
	return tooling.DecodeXML(in, inName, func(t xml.StartElement) error {
		return startTag(e, t)
	}, func(t xml.EndElement) error {
		switch t.Name.Local {
		case "superblock":
			return e.endSuperblock()
		case "mappings", "hints", "discards":
			return e.end(t.Name.Local)
		case "mapping", "hint", "discard":
			return nil
		}
		return fmt.Errorf("</%s>: unknown tag close", t.Name.Local)
	})
}

func startTag(e emitter, t xml.StartElement) error {
	if t.Name.Space != "" {
		return fmt.Errorf("<%s:%s>: unknown tag type", t.Name.Space, t.Name.Local)
	}
	a := tooling.Attrs{E: t}
	switch t.Name.Local {
	case "superblock":
		uuid, ok1 := a.Get("uuid")
		blockSize, err1 := a.Uint("block_size", 64)
		nr, err2 := a.Uint("nr_cache_blocks", 64)
		policy, ok2 := a.Get("policy")
		width, err3 := a.Uint("hint_width", 64)
		if !ok1 {
			return errors.New("<superblock>: could not find attribute: uuid")
		}
		if !ok2 {
			return errors.New("<superblock>: could not find attribute: policy")
		}
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		return e.beginSuperblock(uuid, blockSize, nr, policy, width)
	case "mappings", "hints", "discards":
		return e.begin(t.Name.Local)
	case "mapping":
		cblock, err1 := a.Uint("cache_block", 64)
		oblock, err2 := a.Uint("origin_block", 64)
		dirty, err3 := a.Bool("dirty")
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		return e.mapping(cblock, oblock, dirty)
	case "hint":
		cblock, err := a.Uint("cache_block", 64)
		if err != nil {
			return err
		}
		s, ok := a.Get("data")
		if !ok {
			return errors.New("<hint>: could not find attribute: data")
		}
		data, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("invalid base64 encoding of hint for cache block %d: %v", cblock, err)
		}
		return e.hint(cblock, data)
	case "discard":
		b, err1 := a.Uint("dbegin", 64)
		end, err2 := a.Uint("dend", 64)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		return e.discard(b, end)
	}
	return fmt.Errorf("<%s>: unknown tag type", t.Name.Local)
}
