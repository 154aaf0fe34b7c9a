package table

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// conciseEntry is the tokens of one device entry of a concise list.
type conciseEntry struct {
	tokens []lexer.Token // ends with an EOF token
	start  Position      // where the entry starts
	// dangling is set when the entry runs to the end of the text and its
	// last character was a comma or an escaped character: dmsetup then never
	// closes the entry and reports it as incomplete, even with five fields.
	dangling bool
}

// fieldPos returns where field n (0 name ... 4 table) of a well-formed
// entry starts: at the token after the n-th field-ending comma.
func (e conciseEntry) fieldPos(n int) Position {
	commas := 0
	for i, t := range e.tokens {
		if commas == n {
			return Position{Line: t.Pos.Line, Column: t.Pos.Column}
		}
		if t.Type == tokComma {
			commas++
			if commas == n {
				p := e.tokens[i+1].Pos
				return Position{Line: p.Line, Column: p.Column}
			}
		}
	}
	return e.start
}

// lexConcise splits a concise list into device entries the way dmsetup's
// _create_concise walks it: '\' takes the next character literally (and
// may not end the text); an unescaped ';' ends a device; the first four
// unescaped commas of a device end its fields, later ones end table lines;
// whitespace after a ';' or a field-ending comma is skipped.
func lexConcise(text string) ([]conciseEntry, *ConciseError) {
	var (
		entries  []conciseEntry
		cur      conciseEntry
		value    strings.Builder
		valuePos lexer.Position
		fields   int  // field-ending commas seen in this entry
		open     bool // this entry has begun
		lastRaw  bool // the last character was a comma or escaped
		line     = 1
		lineOff  = 0
	)
	pos := func(i int) lexer.Position {
		return lexer.Position{Offset: i, Line: line, Column: i - lineOff + 1}
	}
	begin := func(i int) {
		if !open {
			open = true
			p := pos(i)
			cur = conciseEntry{start: Position{Line: p.Line, Column: p.Column}}
		}
	}
	flush := func() {
		if value.Len() == 0 {
			return
		}
		typ := tokField
		if fields == 4 {
			typ = tokTable
		}
		cur.tokens = append(cur.tokens, lexer.Token{Type: typ, Value: value.String(), Pos: valuePos})
		value.Reset()
	}
	addChar := func(i int, c byte) {
		if value.Len() == 0 {
			valuePos = pos(i)
		}
		value.WriteByte(c)
	}
	skipSpace := func(i int) int {
		for i < len(text) && isCSpace(text[i]) {
			if text[i] == '\n' {
				line, lineOff = line+1, i+1
			}
			i++
		}
		return i
	}
	end := func(i int, dangling bool) {
		flush()
		cur.tokens = append(cur.tokens, lexer.EOFToken(pos(i)))
		cur.dangling = dangling
		entries = append(entries, cur)
		open, fields, lastRaw = false, 0, false
	}
	if nul := strings.IndexByte(text, 0); nul >= 0 {
		return nil, &ConciseError{Device: strings.Count(text[:nul], ";") + 1, Pos: positionOf(text, nul), Msg: msgNULConcise}
	}
	for i := 0; i < len(text); {
		c := text[i]
		begin(i)
		switch {
		case c == '\\':
			if i+1 == len(text) {
				p := pos(i)
				return nil, &ConciseError{Device: len(entries) + 1, Pos: Position{Line: p.Line, Column: p.Column}, Msg: msgBackslash}
			}
			addChar(i, text[i+1])
			if text[i+1] == '\n' {
				line, lineOff = line+1, i+2
			}
			i += 2
			lastRaw = true
			continue
		case c == ',' && fields < 4:
			flush()
			cur.tokens = append(cur.tokens, lexer.Token{Type: tokComma, Value: ",", Pos: pos(i)})
			fields++
			i = skipSpace(i + 1)
			lastRaw = true
			continue
		case c == ',':
			addChar(i, '\n')
			lastRaw = true
		case c == ';':
			end(i, false)
			i = skipSpace(i + 1)
			continue
		default:
			addChar(i, c)
			lastRaw = false
		}
		if c == '\n' {
			line, lineOff = line+1, i+1
		}
		i++
	}
	if open {
		end(len(text), lastRaw)
	}
	return entries, nil
}
