package crypt

import (
	"math/bits"
	"strings"
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// cipherSpec is a parsed <cipher> argument: the crypto API name dm-crypt
// allocates, how many keys (tfms) it takes, and the IV mode with its
// options (each nil-able, as the kernel's char pointers).
type cipherSpec struct {
	api       string
	tfmsCount int
	ivMode    *string
	ivOpts    *string
}

// strsep is the C library's: the token before the first of delim in *s,
// *s moved past it (nil once no delimiter is left); a nil *s gives nil.
func strsep(s **string, delim byte) *string {
	if *s == nil {
		return nil
	}
	str := **s
	if i := strings.IndexByte(str, delim); i >= 0 {
		tok, rest := str[:i], str[i+1:]
		*s = &rest
		return &tok
	}
	*s = nil
	return &str
}

// parseCipherSpec is crypt_ctr_cipher_new and crypt_ctr_cipher_old up to
// the allocation: "capi:API-IVMODE:IVOPTS" or "CIPHER[:KEYCOUNT]-CHAINMODE-IVMODE[:IVOPTS]".
// aead is set by an integrity:N:aead feature.
func parseCipherSpec(in string, aead bool) (cipherSpec, error) {
	if rest, ok := strings.CutPrefix(in, "capi:"); ok {
		return parseCapi(rest)
	}
	if strings.Contains(in, "(") || aead {
		return cipherSpec{}, targets.Invalid("Bad cipher specification")
	}
	spec := cipherSpec{tfmsCount: 1}
	tmp := &in
	keycount := strsep(&tmp, '-')
	cipher := *strsep(&keycount, ':')
	if keycount != nil {
		n, ok := targets.ScanUint(*keycount, 32)
		if !ok || n == 0 || bits.OnesCount64(n) != 1 {
			return cipherSpec{}, targets.Invalid("Bad cipher key count specification")
		}
		spec.tfmsCount = int(n)
	}
	chainmode := strsep(&tmp, '-')
	spec.ivMode = strsep(&tmp, ':')
	spec.ivOpts = tmp
	if chainmode == nil || *chainmode == "plain" && spec.ivMode == nil {
		cbc, plain := "cbc", "plain"
		chainmode, spec.ivMode = &cbc, &plain
	}
	if *chainmode != "ecb" && spec.ivMode == nil {
		return cipherSpec{}, targets.Invalid("IV mechanism required")
	}
	if spec.ivMode != nil && *spec.ivMode == "essiv" {
		if spec.ivOpts == nil {
			return cipherSpec{}, targets.Invalid("Digest algorithm missing for ESSIV mode")
		}
		spec.api = "essiv(" + *chainmode + "(" + cipher + ")," + *spec.ivOpts + ")"
	} else {
		spec.api = *chainmode + "(" + cipher + ")"
	}
	return spec, nil
}

// parseCapi splits "API-IVMODE:IVOPTS": the IV options after the last ':',
// the IV mode after the last '-' before them; with ESSIV the options name
// the digest and the API becomes essiv(API,DIGEST).
func parseCapi(s string) (cipherSpec, error) {
	spec := cipherSpec{tfmsCount: 1}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		opts := s[i+1:]
		spec.ivOpts, s = &opts, s[:i]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		mode := s[i+1:]
		spec.ivMode, s = &mode, s[:i]
	}
	spec.api = s
	if spec.ivMode != nil && *spec.ivMode == "lmk" {
		spec.tfmsCount = 64
	}
	if spec.ivMode != nil && *spec.ivMode == "essiv" {
		if spec.ivOpts == nil {
			return cipherSpec{}, targets.Invalid("Digest algorithm missing for ESSIV mode")
		}
		spec.api = "essiv(" + spec.api + "," + *spec.ivOpts + ")"
	}
	return spec, nil
}

// maxTfms is the most tfms the kernel's kcalloc of their pointers takes
// (KMALLOC_MAX_SIZE, 4 MiB, of 8-byte pointers).
const maxTfms = 4 << 20 / 8

// allocate is crypt_alloc_tfms: the named cipher, or "Error allocating crypto tfm".
func (spec *cipherSpec) allocate() (*skcipher, error) {
	if spec.tfmsCount > maxTfms {
		return nil, targets.Errorf(syscall.ENOMEM, "Error allocating crypto tfm")
	}
	skc, e := lookupSkcipher(spec.api)
	if e != 0 {
		return nil, targets.Errorf(e, "Error allocating crypto tfm")
	}
	return skc, nil
}

// errAEAD is the kernel's answer to the integrity features, which need a
// dm-integrity device with a tag profile underneath: gdmsetup's devices
// have none.
var errAEAD = targets.Invalid("Integrity profile not supported.")

// unsupportedIV is an IV mode of the kernel's that gdmsetup does not have.
func unsupportedIV(mode string) error {
	return targets.Errorf(syscall.EINVAL, "IV mode %s is not supported by gdmsetup", mode)
}
