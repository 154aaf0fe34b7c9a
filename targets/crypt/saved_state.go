package crypt

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// SaveState is targets.StateSaver: after a key message, the key the
// kernel would hold in memory and whether it is valid ("valid HEX" or
// "invalid HEX"), so that the next process's table has it; "" while the
// table's own key is in use. It is stored, like the table line and its
// key, in the state directory (mode 0700).
func (c *Crypt) SaveState() string {
	c.mu.Lock()
	changed := c.keyChanged
	c.mu.Unlock()
	if !changed {
		return ""
	}
	k := c.keyed.Load()
	state := "invalid"
	if k.valid {
		state = "valid"
	}
	return fmt.Sprintf("%s %x", state, k.key)
}

// restoreKey takes back what SaveState gave.
func (c *Crypt) restoreKey(saved string) (*keyedCipher, error) {
	state, hexKey, _ := strings.Cut(saved, " ")
	key, err := hex.DecodeString(hexKey)
	if err != nil || state != "valid" && state != "invalid" {
		return nil, fmt.Errorf("crypt: saved key state %q: not \"valid|invalid HEX\"", saved)
	}
	k := &keyedCipher{key: key, valid: state == "valid"}
	if err := c.keyTfms(k); err != nil && k.valid {
		return nil, fmt.Errorf("crypt: saved key of %d bytes: %w", len(key), err)
	}
	return k, nil
}
