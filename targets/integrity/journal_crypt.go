package integrity

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// journalCrypt is journal_crypt: the journal is encrypted on the device.
// A stream cipher (ctr(aes)) xors the journal with a keystream made once
// (the commit ids are encrypted with its tail, as create_journal does); a
// block cipher (cbc(aes), ecb(aes)) encrypts each section with an IV
// made from the section's number.
type journalCrypt struct {
	xor   []byte       // stream ciphers: the keystream over the journal
	block cipher.Block // block ciphers
	cbc   bool         // cbc(aes) (else ecb(aes))
	ivs   [][]byte     // block ciphers: each section's IV
	io    []byte       // the journal as on the device (ic->journal_io)
	ids   [nCommitIDs]uint64
}

// newJournalCrypt is create_journal's cipher part for a journal of
// sectionBytes per section: the kernel's errors for a cipher it has not or
// a key it refuses.
func newJournalCrypt(x *Integrity, journalBytes, sectionBytes int) (*journalCrypt, error) {
	spec := &x.cfg.journalCrypt
	name := strings.TrimSuffix(spec.name, "-generic")
	jc := &journalCrypt{ids: commitIDs}
	var mode string
	switch name {
	case "ctr(aes)", "cbc(aes)", "ecb(aes)":
		mode = name[:3]
	default:
		return nil, targets.Errorf(syscall.ENOENT, "Invalid journal cipher")
	}
	if spec.key == nil {
		x.ioError("encrypt", syscall.ENOKEY)
		if mode == "ctr" {
			return nil, targets.Errorf(syscall.ENOKEY, "Unable to encrypt journal")
		}
		return nil, targets.Errorf(syscall.ENOKEY, "Unable to generate iv")
	}
	b, err := aes.NewCipher(spec.key)
	if err != nil {
		return nil, targets.Errorf(syscall.EINVAL, "Error setting encryption key")
	}
	jc.io = make([]byte, journalBytes)
	if mode == "ctr" {
		// the keystream over the journal's pages and the commit ids
		ks := make([]byte, journalBytes+8*nCommitIDs)
		cipher.NewCTR(b, make([]byte, aes.BlockSize)).XORKeyStream(ks, ks)
		jc.xor = ks[:journalBytes]
		for k := range jc.ids {
			jc.ids[k] ^= binary.LittleEndian.Uint64(ks[journalBytes+8*k:])
		}
		jc.uniqueIDs()
		return jc, nil
	}
	jc.block, jc.cbc = b, mode == "cbc"
	nSections := journalBytes / sectionBytes
	for i := 0; i < nSections; i++ {
		if !jc.cbc {
			jc.ivs = append(jc.ivs, nil)
			continue
		}
		iv := make([]byte, aes.BlockSize)
		binary.LittleEndian.PutUint32(iv, uint32(i))
		b.Encrypt(iv, iv) // one block of CBC under a zero IV
		jc.ivs = append(jc.ivs, iv)
	}
	jc.uniqueIDs()
	return jc, nil
}

// uniqueIDs is create_journal's retest_commit_id: equal ids are made to
// differ.
func (jc *journalCrypt) uniqueIDs() {
	for i := 1; i < nCommitIDs; i++ {
		for j := 0; j < i; j++ {
			if jc.ids[j] == jc.ids[i] {
				jc.ids[i]++
				j = -1
			}
		}
	}
}

// encrypt makes the device's bytes of a section, [lo, hi) of the journal.
func (jc *journalCrypt) encrypt(plain []byte, section uint32, lo, hi int) []byte {
	dst := jc.io[lo:hi]
	switch {
	case jc.xor != nil:
		for k := range dst {
			dst[k] = plain[lo+k] ^ jc.xor[lo+k]
		}
	case jc.cbc:
		cipher.NewCBCEncrypter(jc.block, jc.ivs[section]).CryptBlocks(dst, plain[lo:hi])
	default:
		for k := 0; k < len(dst); k += aes.BlockSize {
			jc.block.Encrypt(dst[k:], plain[lo+k:])
		}
	}
	return dst
}

// decrypt turns the device's bytes of a section back into plain.
func (jc *journalCrypt) decrypt(plain, dev []byte, section uint32, lo, hi int) {
	switch {
	case jc.xor != nil:
		for k := lo; k < hi; k++ {
			plain[k] = dev[k] ^ jc.xor[k]
		}
	case jc.cbc:
		cipher.NewCBCDecrypter(jc.block, jc.ivs[section]).CryptBlocks(plain[lo:hi], dev[lo:hi])
	default:
		for k := lo; k < hi; k += aes.BlockSize {
			jc.block.Decrypt(plain[k:], dev[k:])
		}
	}
}
