package tooling

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
)

// DecodeXML reads the XML document in (named inName in errors) as the tools'
// expat parser feeds their restore emitters: start gets each opening tag, end
// each closing one, in document order. An error of either, or of the XML,
// names the input and the line.
func DecodeXML(in io.Reader, inName string, start func(xml.StartElement) error, end func(xml.EndElement) error) error {
	d := xml.NewDecoder(in)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", inName, err)
		}
		line, _ := d.InputPos()
		switch t := tok.(type) {
		case xml.StartElement:
			err = start(t)
		case xml.EndElement:
			err = end(t)
		}
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", inName, line, err)
		}
	}
}

// Attrs reads an element's attributes as the tools' get_attr does.
type Attrs struct{ E xml.StartElement }

// Get is attribute name's value; false when the element has none.
func (a Attrs) Get(name string) (string, bool) {
	for _, at := range a.E.Attr {
		if at.Name.Space == "" && at.Name.Local == name {
			return at.Value, true
		}
	}
	return "", false
}

// Uint is attribute name as a decimal number of at most bits bits.
func (a Attrs) Uint(name string, bits int) (uint64, error) {
	s, ok := a.Get(name)
	if !ok {
		return 0, fmt.Errorf("<%s>: could not find attribute: %s", a.E.Name.Local, name)
	}
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("<%s %s=%q>: not a %d-bit number", a.E.Name.Local, name, s, bits)
	}
	return v, nil
}

// Bool is attribute name as "true" or "false" (to_bool).
func (a Attrs) Bool(name string) (bool, error) {
	s, ok := a.Get(name)
	switch {
	case !ok:
		return false, fmt.Errorf("<%s>: could not find attribute: %s", a.E.Name.Local, name)
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	}
	return false, fmt.Errorf("<%s %s=%q>: bad boolean value", a.E.Name.Local, name, s)
}
