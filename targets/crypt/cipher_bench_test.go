package crypt

import (
	"testing"
)

// BenchmarkSectorCipher is the ciphers alone, on 4096 bytes in 512-byte
// encryption sectors, without I/O.
func BenchmarkSectorCipher(b *testing.B) {
	for _, name := range []string{"xts(aes)", "cbc(aes)", "essiv(cbc(aes),sha256)", "ecb(aes)"} {
		skc, e := lookupSkcipher(name)
		if e != 0 {
			b.Fatal(e)
		}
		key := make([]byte, 32)
		c, err := skc.setKey(key)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 4096)
		iv := make([]byte, 16)
		for _, enc := range []bool{true, false} {
			op := "decrypt"
			if enc {
				op = "encrypt"
			}
			b.Run(name+"/"+op, func(b *testing.B) {
				b.SetBytes(int64(len(buf)))
				for i := 0; i < b.N; i++ {
					for off := 0; off < len(buf); off += 512 {
						s := buf[off : off+512]
						if enc {
							c.encrypt(s, s, iv)
						} else {
							c.decrypt(s, s, iv)
						}
					}
				}
			})
		}
	}
}
