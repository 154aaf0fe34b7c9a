package crypt

import (
	"crypto/rand"
	"strings"
	"syscall"
)

// Message is crypt_message: `key set <key>` and `key wipe`, only while the
// device is suspended. A key of another size is refused; a set that fails
// while decoding leaves the key invalid (so the device cannot resume), as
// the kernel's.
func (c *Crypt) Message(args []string) (string, error) {
	if len(args) >= 2 && strings.EqualFold(args[0], "key") {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.suspended {
			c.logf("not suspended during key manipulation.")
			return "", syscall.EINVAL
		}
		cur := c.keyed.Load()
		switch {
		case len(args) == 3 && strings.EqualFold(args[1], "set"):
			size, s, ok := keySize(args[2])
			if !ok || size != len(cur.key) {
				return "", syscall.EINVAL
			}
			k, e := c.setKey(cur, s)
			if k != cur {
				c.keyed.Store(k)
				c.keyChanged = true
			}
			if e != 0 {
				return "", e
			}
			return "", nil
		case len(args) == 2 && strings.EqualFold(args[1], "wipe"):
			c.keyed.Store(c.wiped(cur))
			c.keyChanged = true
			return "", nil
		}
	}
	c.logf("unrecognised message received.")
	return "", syscall.EINVAL
}

// wiped is crypt_wipe_key: the ciphers keyed with random bytes, the key
// shown as zeros, and not valid.
func (c *Crypt) wiped(cur *keyedCipher) *keyedCipher {
	k := &keyedCipher{key: make([]byte, len(cur.key))}
	random := &keyedCipher{key: make([]byte, len(cur.key))}
	rand.Read(random.key)
	if c.keyTfms(random) == nil {
		k.tfms = random.tfms
	}
	return k
}

// PostSuspend marks the table suspended: key messages are allowed.
func (c *Crypt) PostSuspend() error {
	c.mu.Lock()
	c.suspended = true
	c.mu.Unlock()
	return nil
}

// PreResume refuses to resume without a valid key (EAGAIN).
func (c *Crypt) PreResume() error {
	if !c.keyed.Load().valid {
		c.logf("aborting resume - crypt key is not set.")
		return syscall.EAGAIN
	}
	return nil
}

// Resume ends the suspended state.
func (c *Crypt) Resume() {
	c.mu.Lock()
	c.suspended = false
	c.mu.Unlock()
}
