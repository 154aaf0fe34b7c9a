package main

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// selection is a parsed -S/--select expression (libdm's report selection):
// comparisons `field OP value` joined by && (or ,) and || (or #), negated
// with !( ), grouped with ( ). OP is = != on any field, < <= > >= on
// numbers, =~ !~ (regular expression) on strings.
type selection interface {
	match(o *reportObj) bool
}

type selAnd []selection
type selOr []selection
type selNot struct{ s selection }

// selCmp compares one field with value (a number for number fields); re is
// set for =~ and !~.
type selCmp struct {
	f     *reportField
	op    string
	value string
	re    *regexp.Regexp
}

func (s selAnd) match(o *reportObj) bool {
	for _, x := range s {
		if !x.match(o) {
			return false
		}
	}
	return true
}

func (s selOr) match(o *reportObj) bool {
	for _, x := range s {
		if x.match(o) {
			return true
		}
	}
	return false
}

func (s selNot) match(o *reportObj) bool { return !s.s.match(o) }

func (s *selCmp) match(o *reportObj) bool {
	v, err := s.f.get(o)
	if err != nil {
		return false
	}
	if s.re != nil {
		return s.re.MatchString(v) != (s.op == "!~")
	}
	c := compareValues(s.f, v, s.value)
	switch s.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	}
	return c <= 0
}

// selParser reads a selection string; pos is the next byte of s.
type selParser struct {
	r      *fieldReport
	s      string
	pos    int
	stderr io.Writer // where the field help goes for an unknown field
}

// selSyntaxError is how libdm reports a selection it cannot read.
func selSyntaxError(at string, why string) error {
	return setupError(fmt.Sprintf("%s\nSelection syntax error at '%s'.\nUse 'help' for selection to get more help.", why, at))
}

// parseSelection parses expr against r's fields.
func parseSelection(r *fieldReport, expr string, stderr io.Writer) (selection, error) {
	p := &selParser{r: r, s: expr, stderr: stderr}
	sel, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.s) {
		return nil, selSyntaxError(p.s[p.pos:], "Expecting logical operator")
	}
	return sel, nil
}

func (p *selParser) space() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

// eat consumes the first of ops found at the current position.
func (p *selParser) eat(ops ...string) bool {
	p.space()
	for _, op := range ops {
		if strings.HasPrefix(p.s[p.pos:], op) {
			p.pos += len(op)
			return true
		}
	}
	return false
}

func (p *selParser) or() (selection, error) {
	return p.joined(p.and, func(ts []selection) selection { return selOr(ts) }, "||", "#")
}

func (p *selParser) and() (selection, error) {
	return p.joined(p.factor, func(ts []selection) selection { return selAnd(ts) }, "&&", ",")
}

// joined reads term (op term)... for one of the operators ops: a lone term as
// it is, more than one combined.
func (p *selParser) joined(term func() (selection, error), combine func([]selection) selection, ops ...string) (selection, error) {
	var terms []selection
	for {
		t, err := term()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
		if p.eat(ops...) {
			continue
		}
		if len(terms) == 1 {
			return terms[0], nil
		}
		return combine(terms), nil
	}
}

func (p *selParser) factor() (selection, error) {
	p.space()
	not := p.eat("!")
	if not || p.eat("(") {
		if not && !p.eat("(") {
			return nil, setupError(fmt.Sprintf("Syntax error: left parenthesis expected at '%s'", p.s[p.pos:]))
		}
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, setupError(fmt.Sprintf("Syntax error: right parenthesis expected at '%s'", p.s[p.pos:]))
		}
		if not {
			return selNot{inner}, nil
		}
		return inner, nil
	}
	return p.comparison()
}

var selOps = []string{"=~", "!~", "=", "!=", ">=", ">", "<=", "<"}

func (p *selParser) comparison() (selection, error) {
	at := p.s[p.pos:]
	nameStart := p.pos
	for p.pos < len(p.s) && (isAlnum(p.s[p.pos]) || p.s[p.pos] == '_' || p.s[p.pos] == '-') {
		p.pos++
	}
	name := p.s[nameStart:p.pos]
	if name == "" {
		return nil, selSyntaxError(at, "Expecting field name")
	}
	fs, ok := p.r.lookup(name)
	if !ok || len(fs) != 1 {
		printFieldHelp(p.stderr, true)
		return nil, selSyntaxError(at, "Unrecognised selection field: "+name)
	}
	f := fs[0]
	p.space()
	op := ""
	for _, o := range selOps {
		if strings.HasPrefix(p.s[p.pos:], o) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, selSyntaxError(at, "Unrecognised comparison operator: "+p.s[p.pos:])
	}
	p.pos += len(op)
	p.space()
	value, err := p.value()
	if err != nil {
		return nil, selSyntaxError(at, err.Error())
	}
	c := &selCmp{f: f, op: op, value: value}
	switch {
	case op == "=~" || op == "!~":
		if f.kind != textField {
			return nil, selSyntaxError(at, "Regular expression expected for selection field "+f.id)
		}
		if c.re, err = regexp.Compile(value); err != nil {
			return nil, selSyntaxError(at, "Failed to parse regex value for selection field "+f.id+".")
		}
	case f.kind != textField:
		if _, err = strconv.ParseUint(value, 10, 64); err != nil {
			return nil, selSyntaxError(at, "Failed to parse numeric value for selection field "+f.id+".")
		}
	case op != "=" && op != "!=":
		return nil, selSyntaxError(at, "Operator can be used only with number, size, time or percent fields: "+name)
	}
	return c, nil
}

// value reads a quoted (” or "") or bare value; a bare value ends at a
// space, a logical operator or a parenthesis.
func (p *selParser) value() (string, error) {
	if p.pos >= len(p.s) {
		return "", fmt.Errorf("Missing value after operator")
	}
	if q := p.s[p.pos]; q == '\'' || q == '"' {
		end := strings.IndexByte(p.s[p.pos+1:], q)
		if end < 0 {
			return "", fmt.Errorf("Missing end quote.")
		}
		v := p.s[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return v, nil
	}
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune(" ()&|,#", rune(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos], nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
