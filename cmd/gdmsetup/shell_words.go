package main

import (
	"errors"
	"strings"
)

// errIncomplete is a line that ends inside quotes or after a backslash:
// the next line continues it.
var errIncomplete = errors.New("unterminated quote or trailing backslash")

// splitWords splits a command line into words as a POSIX shell does
// (without expansions): blanks separate words; 'single quotes' keep
// everything; "double quotes" keep everything but \" \\ \$ \` and
// backslash-newline; a backslash outside quotes keeps the next character
// (backslash-newline joins lines); # at the start of a word comments out
// the rest of its line. Text ending inside a quote or after a backslash
// gives errIncomplete.
func splitWords(text string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '\\':
			if i+1 >= len(text) {
				return nil, errIncomplete
			}
			i++
			if text[i] != '\n' {
				w.WriteByte(text[i])
				inWord = true
			}
		case c == '\'':
			end := strings.IndexByte(text[i+1:], '\'')
			if end < 0 {
				return nil, errIncomplete
			}
			w.WriteString(text[i+1 : i+1+end])
			i += 1 + end
			inWord = true
		case c == '"':
			j, err := doubleQuoted(text, i+1, &w)
			if err != nil {
				return nil, err
			}
			i = j
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// doubleQuoted copies the inside of a double-quoted string starting at
// text[i] into w and returns the index of the closing quote.
func doubleQuoted(text string, i int, w *strings.Builder) (int, error) {
	for ; i < len(text); i++ {
		switch c := text[i]; c {
		case '"':
			return i, nil
		case '\\':
			if i+1 >= len(text) {
				return 0, errIncomplete
			}
			switch n := text[i+1]; n {
			case '"', '\\', '$', '`':
				w.WriteByte(n)
				i++
			case '\n':
				i++
			default:
				w.WriteByte(c)
			}
		default:
			w.WriteByte(c)
		}
	}
	return 0, errIncomplete
}
