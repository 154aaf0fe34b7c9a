package table

import (
	"errors"
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// ParseError reports a malformed table line. Pos.Line is the line number in
// the input (counting blank and comment lines), which is what dmsetup's
// "Invalid format on line N" reports.
type ParseError struct {
	Pos Position
	Msg string // what was expected or what is wrong
}

// Error gives "line L, column C: <msg>".
func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Pos.Line, e.Pos.Column, e.Msg)
}

// Messages of ParseError.
const (
	msgStart      = "expected a start sector"
	msgLength     = "expected a length"
	msgType       = "expected a target type"
	msgOutOfRange = "number out of range"
	msgNUL        = "NUL byte in table text"
)

// tableAST is the grammar of a whole table: its lexer drops blank and
// comment lines, so a table is a sequence of target lines.
type tableAST struct {
	Lines []*lineAST `parser:"@@*"`
}

// lineAST is the grammar of one target line.
type lineAST struct {
	Pos    lexer.Position
	Start  startSectors  `parser:"@Start"`
	Length lengthSectors `parser:"@Length"`
	Type   string        `parser:"@Type"`
	Params string        `parser:"@Params? EOL"`
}

// startSectors and lengthSectors are the two numeric fields; their Capture
// methods check them as unsigned decimals.
type (
	startSectors  uint64
	lengthSectors uint64
)

// fieldError is returned by a Capture method; Parse turns it into a
// ParseError at the position participle reports.
type fieldError struct{ msg string }

func (e *fieldError) Error() string { return e.msg }

// Capture parses the start sector.
func (s *startSectors) Capture(values []string) error {
	n, err := parseSectors(values[0], msgStart)
	*s = startSectors(n)
	return err
}

// Capture parses the length.
func (l *lengthSectors) Capture(values []string) error {
	n, err := parseSectors(values[0], msgLength)
	*l = lengthSectors(n)
	return err
}

// parseSectors parses what sscanf's %llu would, but strictly: decimal
// digits only (no sign, no trailing garbage) and no overflow.
func parseSectors(text, what string) (uint64, error) {
	var n uint64
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < '0' || c > '9' {
			return 0, &fieldError{what}
		}
		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, &fieldError{msgOutOfRange}
		}
		n = n*10 + d
	}
	return n, nil
}

var tableParser = participle.MustBuild[tableAST](participle.Lexer(tokenDefinition{}))

// Parse parses table text: any number of lines separated by '\n'. Each line
// is trimmed of whitespace; empty lines and lines whose first non-blank
// character is '#' are skipped; any other line must hold a start sector, a
// length (unsigned decimals) and a target type, and may hold parameters
// ending at an optional '#' comment. The first bad line gives a
// *ParseError.
func Parse(text string) ([]Line, error) {
	if nul := strings.IndexByte(text, 0); nul >= 0 {
		return nil, &ParseError{Pos: positionOf(text, nul), Msg: msgNUL}
	}
	tokens, short := lexTable(text)
	ast, err := parseTokens(tableParser, tokens)
	if err != nil {
		return nil, tableError(err, short)
	}
	lines := make([]Line, len(ast.Lines))
	for i, l := range ast.Lines {
		lines[i] = Line{
			Start:  uint64(l.Start),
			Length: uint64(l.Length),
			Type:   l.Type,
			Params: l.Params,
			Pos:    Position{Line: l.Pos.Line, Column: l.Pos.Column},
		}
	}
	return lines, nil
}

// tableError turns a participle error into a *ParseError. short maps the
// offset of the EOL token of each line with fewer than three fields to the
// message naming the missing field.
func tableError(err error, short map[int]string) error {
	var perr participle.Error
	if !errors.As(err, &perr) {
		return err
	}
	pos := Position{Line: perr.Position().Line, Column: perr.Position().Column}
	var ferr *fieldError
	if errors.As(err, &ferr) {
		return &ParseError{Pos: pos, Msg: ferr.msg}
	}
	msg, ok := short[perr.Position().Offset]
	if !ok {
		return fmt.Errorf("table: line %d, column %d: %w", pos.Line, pos.Column, err)
	}
	return &ParseError{Pos: pos, Msg: msg}
}

// lexTable splits text into the tokens of tableAST, mimicking dmsetup's
// _parse_line: trim each line, skip blank and '#' lines, then take up to
// three whitespace-separated fields and the rest as params, cut at '#'
// and trimmed. For a line with fewer than three fields it records, under
// the offset of its EOL token, the message naming the first missing one.
func lexTable(text string) ([]lexer.Token, map[int]string) {
	tokens := make([]lexer.Token, 0, strings.Count(text, "\n")*5+6)
	var short map[int]string
	fieldTypes := [3]lexer.TokenType{tokStart, tokLength, tokType}
	missing := [3]string{msgStart, msgLength, msgType}
	lineNo := 0
	for lineOff := 0; lineOff <= len(text); {
		lineNo++
		lineEnd := strings.IndexByte(text[lineOff:], '\n')
		next := lineOff + lineEnd + 1
		if lineEnd < 0 {
			lineEnd = len(text) - lineOff
			next = len(text) + 1
		}
		line := text[lineOff : lineOff+lineEnd]
		pos := func(i int) lexer.Position {
			return lexer.Position{Offset: lineOff + i, Line: lineNo, Column: i + 1}
		}
		end := len(line)
		for end > 0 && isCSpace(line[end-1]) {
			end--
		}
		line = line[:end]
		i := skipCSpace(line, 0)
		if i == end || line[i] == '#' {
			lineOff = next
			continue
		}
		fields := 0
		for ; fields < 3 && i < end; fields++ {
			j := i
			for j < end && !isCSpace(line[j]) {
				j++
			}
			tokens = append(tokens, lexer.Token{Type: fieldTypes[fields], Value: line[i:j], Pos: pos(i)})
			i = skipCSpace(line, j)
		}
		if fields == 3 {
			params := line[i:end]
			if hash := strings.IndexByte(params, '#'); hash >= 0 {
				params = params[:hash]
			}
			params = strings.TrimRightFunc(params, func(r rune) bool { return r < 0x80 && isCSpace(byte(r)) })
			if params != "" {
				tokens = append(tokens, lexer.Token{Type: tokParams, Value: params, Pos: pos(i)})
			}
		} else {
			if short == nil {
				short = make(map[int]string)
			}
			short[lineOff+end] = missing[fields]
		}
		tokens = append(tokens, lexer.Token{Type: tokEOL, Value: "\n", Pos: pos(end)})
		lineOff = next
	}
	end := lexer.Position{Offset: len(text), Line: lineNo, Column: len(text) - strings.LastIndexByte(text, '\n')}
	return append(tokens, lexer.EOFToken(end)), short
}

// skipCSpace returns the index of the first non-space byte of s at or
// after i.
func skipCSpace(s string, i int) int {
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	return i
}

// positionOf returns the line and column of byte offset off in text.
func positionOf(text string, off int) Position {
	lineStart := strings.LastIndexByte(text[:off], '\n') + 1
	return Position{Line: strings.Count(text[:off], "\n") + 1, Column: off - lineStart + 1}
}
