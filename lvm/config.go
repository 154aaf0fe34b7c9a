package lvm

import (
	"fmt"
	"strconv"
	"strings"
)

// Value is one value of LVM2's text format: a string, an integer, a number with a fraction
// (kept as written), or a list of values.
type Value struct {
	Kind ValueKind
	Str  string // KindString, and KindFloat as written
	Int  int64  // KindInt
	List []Value
}

// ValueKind says which field of a Value holds it.
type ValueKind int

// The kinds of Value.
const (
	KindString ValueKind = iota
	KindInt
	KindFloat
	KindList
)

// Section is a `name { ... }` block of LVM2's text format (the whole text is an unnamed
// section): its keys, and its subsections in the order of the text.
type Section struct {
	Name     string
	Line     int // the line of its opening brace (0 for the whole text)
	Keys     map[string]Value
	Order    []string // the keys in the text's order
	Children []*Section
}

// maxConfigDepth bounds the nesting of sections (a VG's text nests five deep).
const maxConfigDepth = 32

// ParseConfig parses LVM2's text format (the VG metadata of a metadata area, or a
// vgcfgbackup file): `key = value` assignments and `name { ... }` sections; values are
// double-quoted strings (with backslash escapes), integers, numbers with a fraction, or
// bracketed lists of those; `#` comments run to the end of the line.
func ParseConfig(text []byte) (*Section, error) {
	p := &configParser{s: string(text), line: 1}
	root := &Section{Keys: map[string]Value{}}
	if err := p.body(root, 0); err != nil {
		return nil, err
	}
	return root, nil
}

// configParser reads one text; pos is the next byte, line its line number.
type configParser struct {
	s    string
	pos  int
	line int
}

func (p *configParser) errorf(format string, a ...any) error {
	return fmt.Errorf("LVM text line %d: %s", p.line, fmt.Sprintf(format, a...))
}

// skip passes blanks and comments.
func (p *configParser) skip() {
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; {
		case c == '\n':
			p.line++
			p.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			p.pos++
		case c == '#':
			for p.pos < len(p.s) && p.s[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

// isWordByte reports whether c continues a bare word (a key, a section name, a number).
func isWordByte(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`#={}[],"'`, rune(c))
}

// word reads a bare word.
func (p *configParser) word() string {
	start := p.pos
	for p.pos < len(p.s) && isWordByte(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// body reads assignments and sections into sec until the end of the text (depth 0) or a
// closing brace (which it consumes).
func (p *configParser) body(sec *Section, depth int) error {
	for {
		p.skip()
		if p.pos >= len(p.s) {
			if depth > 0 {
				return p.errorf("section %q (line %d) is not closed", sec.Name, sec.Line)
			}
			return nil
		}
		if p.s[p.pos] == '}' {
			if depth == 0 {
				return p.errorf("'}' closes no section")
			}
			p.pos++
			return nil
		}
		name := p.word()
		if name == "" {
			return p.errorf("unexpected %q where a key or section name was expected", p.s[p.pos])
		}
		p.skip()
		if p.pos >= len(p.s) {
			return p.errorf("%q ends the text without '=' or '{'", name)
		}
		switch p.s[p.pos] {
		case '{':
			if depth+1 >= maxConfigDepth {
				return p.errorf("sections nested deeper than %d", maxConfigDepth)
			}
			p.pos++
			child := &Section{Name: name, Line: p.line, Keys: map[string]Value{}}
			if err := p.body(child, depth+1); err != nil {
				return err
			}
			sec.Children = append(sec.Children, child)
		case '=':
			p.pos++
			v, err := p.value(true)
			if err != nil {
				return fmt.Errorf("key %q: %w", name, err)
			}
			if _, dup := sec.Keys[name]; dup {
				return p.errorf("key %q set twice", name)
			}
			sec.Keys[name] = v
			sec.Order = append(sec.Order, name)
		default:
			return p.errorf("unexpected %q after %q", p.s[p.pos], name)
		}
	}
}

// value reads a string, a number or (when listOK) a list.
func (p *configParser) value(listOK bool) (Value, error) {
	p.skip()
	if p.pos >= len(p.s) {
		return Value{}, p.errorf("the text ends where a value was expected")
	}
	switch c := p.s[p.pos]; {
	case c == '"' || c == '\'':
		s, err := p.quoted(c)
		return Value{Kind: KindString, Str: s}, err
	case c == '[':
		if !listOK {
			return Value{}, p.errorf("a list inside a list")
		}
		return p.list()
	default:
		w := p.word()
		if w == "" {
			return Value{}, p.errorf("unexpected %q where a value was expected", c)
		}
		if n, err := strconv.ParseInt(w, 10, 64); err == nil {
			return Value{Kind: KindInt, Int: n}, nil
		}
		if _, err := strconv.ParseFloat(w, 64); err == nil {
			return Value{Kind: KindFloat, Str: w}, nil
		}
		return Value{}, p.errorf("%q is neither a quoted string nor a number", w)
	}
}

// quoted reads a string opened by q; a backslash takes the next byte as it is.
func (p *configParser) quoted(q byte) (string, error) {
	startLine := p.line
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == q:
			return b.String(), nil
		case c == '\\' && p.pos < len(p.s):
			c = p.s[p.pos]
			p.pos++
		}
		if c == '\n' {
			p.line++
		}
		b.WriteByte(c)
	}
	return "", fmt.Errorf("LVM text line %d: string not closed", startLine)
}

// list reads `[ value, value ... ]` (a trailing comma allowed, as lvm2 allows it).
func (p *configParser) list() (Value, error) {
	p.pos++
	v := Value{Kind: KindList, List: []Value{}}
	for {
		p.skip()
		if p.pos < len(p.s) && p.s[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		item, err := p.value(false)
		if err != nil {
			return Value{}, err
		}
		v.List = append(v.List, item)
		p.skip()
		if p.pos >= len(p.s) {
			return Value{}, p.errorf("list not closed")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
		case ']':
		default:
			return Value{}, p.errorf("unexpected %q in a list", p.s[p.pos])
		}
	}
}

// Child returns the subsection called name, or nil.
func (s *Section) Child(name string) *Section {
	for _, c := range s.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Str returns key's string; a missing key or another kind is an error naming both.
func (s *Section) Str(key string) (string, error) {
	v, ok := s.Keys[key]
	if !ok {
		return "", fmt.Errorf("section %q: no %s", s.Name, key)
	}
	if v.Kind != KindString {
		return "", fmt.Errorf("section %q: %s is not a string", s.Name, key)
	}
	return v.Str, nil
}

// Uint returns key's non-negative integer; a missing key, another kind or a negative
// number is an error naming both.
func (s *Section) Uint(key string) (uint64, error) {
	v, ok := s.Keys[key]
	if !ok {
		return 0, fmt.Errorf("section %q: no %s", s.Name, key)
	}
	if v.Kind != KindInt || v.Int < 0 {
		return 0, fmt.Errorf("section %q: %s is not a non-negative integer", s.Name, key)
	}
	return uint64(v.Int), nil
}

// UintOr returns key's non-negative integer, or def when the key is missing.
func (s *Section) UintOr(key string, def uint64) (uint64, error) {
	if _, ok := s.Keys[key]; !ok {
		return def, nil
	}
	return s.Uint(key)
}

// Strings returns key's list of strings (nil when the key is missing).
func (s *Section) Strings(key string) ([]string, error) {
	v, ok := s.Keys[key]
	if !ok {
		return nil, nil
	}
	if v.Kind != KindList {
		return nil, fmt.Errorf("section %q: %s is not a list", s.Name, key)
	}
	out := make([]string, len(v.List))
	for i, item := range v.List {
		if item.Kind != KindString {
			return nil, fmt.Errorf("section %q: %s item %d is not a string", s.Name, key, i+1)
		}
		out[i] = item.Str
	}
	return out, nil
}
