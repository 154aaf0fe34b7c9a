package dmtest

import (
	"bytes"
	"testing"
)

// TestCrashTestCheckKey: a key reads its one logged write, or zeros while
// that write is not flushed; anything else is an error.
func TestCrashTestCheckKey(t *testing.T) {
	c := &CrashTest{KeySectors: 8, Data: func(k int) []byte { return bytes.Repeat([]byte{byte(k + 1)}, 4096) }}
	log := &CrashLog{Written: map[uint64]int{1: 10, 2: 11}, Durable: map[int]bool{10: true}}
	zeros := make([]byte, 4096)
	for _, tc := range []struct {
		key  uint64
		got  []byte
		fail bool
	}{
		{1, c.Data(10), false}, // a flushed write read back
		{1, zeros, true},       // a flushed write lost
		{2, c.Data(11), false}, // an unflushed write that made it
		{2, zeros, false},      // an unflushed write lost
		{2, c.Data(10), true},  // another write's data
		{3, zeros, false},      // never written
		{3, c.Data(10), true},  // never written, yet not zeros
	} {
		if err := c.CheckKey(log, tc.key, tc.got); (err != nil) != tc.fail {
			t.Errorf("key %d reading %d...: %v", tc.key, tc.got[0], err)
		}
	}
}
