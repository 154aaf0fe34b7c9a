package table

import (
	"errors"
	"io"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Token types shared by the table and the concise lexers. Both lexers are
// hand-written because the meaning of a character depends on its field
// (sscanf's %s may swallow '#', a concise comma ends a field or a table
// line); the grammars on top of them are participle's.
const (
	tokStart  lexer.TokenType = -(iota + 2) // start sector field of a table line
	tokLength                               // length field
	tokType                                 // target type
	tokParams                               // parameter text, comment cut, trimmed
	tokEOL                                  // end of a table line
	tokField                                // concise: name, uuid, minor or flags text
	tokComma                                // concise: comma ending one of the first four fields
	tokTable                                // concise: the table field, lines joined by '\n'
)

// tokenDefinition is the participle lexer.Definition of those token types;
// the tokens themselves are made beforehand and replayed by sliceLexer.
type tokenDefinition struct{}

// Symbols names the token types for participle grammars.
func (tokenDefinition) Symbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF":    lexer.EOF,
		"Start":  tokStart,
		"Length": tokLength,
		"Type":   tokType,
		"Params": tokParams,
		"EOL":    tokEOL,
		"Field":  tokField,
		"Comma":  tokComma,
		"Table":  tokTable,
	}
}

// Lex is never called: parsers get their tokens through ParseFromLexer.
func (tokenDefinition) Lex(string, io.Reader) (lexer.Lexer, error) {
	return nil, errors.New("table: tokens are made by lexTable and lexConcise")
}

// sliceLexer replays a token slice that ends with an EOF token.
type sliceLexer struct {
	tokens []lexer.Token
	next   int
}

// Next returns the next token, and the final EOF token forever after.
func (s *sliceLexer) Next() (lexer.Token, error) {
	t := s.tokens[s.next]
	if s.next < len(s.tokens)-1 {
		s.next++
	}
	return t, nil
}

// parseTokens runs parser p over tokens, which end with an EOF token.
func parseTokens[G any](p *participle.Parser[G], tokens []lexer.Token) (*G, error) {
	peek, err := lexer.Upgrade(&sliceLexer{tokens: tokens})
	if err != nil {
		return nil, err
	}
	return p.ParseFromLexer(peek)
}
