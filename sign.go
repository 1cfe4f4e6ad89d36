package redpack

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"strings"
)

// param is one request or response field: wire name and raw value.
type param struct {
	k, v string
}

// params is a list of fields, sorted by name (byte order) once sort ran.
// Sorting once serves both the signature and a deterministic XML body.
type params []param

// sort orders p by name in byte order.
func (p params) sort() {
	slices.SortFunc(p, func(a, b param) int { return strings.Compare(a.k, b.k) })
}

// add appends k=v when v is not empty: empty values are neither signed nor
// sent (SPEC §1.3).
func (p params) add(k, v string) params {
	if v == "" {
		return p
	}
	return append(p, param{k, v})
}

func (p params) has(k string) bool {
	for _, kv := range p {
		if kv.k == k {
			return true
		}
	}
	return false
}

func (p params) get(k string) string {
	for _, kv := range p {
		if kv.k == k {
			return kv.v
		}
	}
	return ""
}

// signSorted computes the v2 MD5 signature of p, which must be sorted by
// name: "k1=v1&k2=v2&key=KEY", MD5, uppercase hex. "sign" and empty values
// are skipped. lower selects lowercase hex (the mini-program paySign).
func signSorted(p params, key string, lower bool) string {
	b := make([]byte, 0, 512)
	for _, kv := range p {
		if kv.v == "" || kv.k == "sign" {
			continue
		}
		b = append(b, kv.k...)
		b = append(b, '=')
		b = append(b, kv.v...)
		b = append(b, '&')
	}
	b = append(b, "key="...)
	b = append(b, key...)
	sum := md5.Sum(b)
	clear(b) // the key does not outlive the call in this buffer
	h := hex.EncodeToString(sum[:])
	if lower {
		return h
	}
	return strings.ToUpper(h)
}

// Sign returns the WeChat Pay v2 MD5 signature (uppercase hex) of fields
// signed with the API v2 key: every non-empty field except "sign", sorted by
// name, joined as "k=v" pairs with "&", followed by "&key=" and the key.
// Values are used raw (no escaping). The client signs for you; Sign is for
// verifying notifications, fakes and tests.
func Sign(fields map[string]string, apiKey string) string {
	p := make(params, 0, len(fields))
	for k, v := range fields {
		p = p.add(k, v)
	}
	p.sort()
	return signSorted(p, apiKey, false)
}

// VerifySign reports whether fields carries a "sign" equal, in constant
// time, to Sign(fields, apiKey). Hex case is ignored.
func VerifySign(fields map[string]string, apiKey string) bool {
	got, ok := fields["sign"]
	if !ok {
		return false
	}
	return signEqual(got, Sign(fields, apiKey))
}

// signEqual compares a received signature with the expected uppercase one in
// constant time, ignoring the case of hex letters in got.
func signEqual(got, want string) bool {
	if len(got) != len(want) {
		return false
	}
	g := []byte(got)
	for i, c := range g {
		if c >= 'a' && c <= 'f' {
			g[i] = c - 'a' + 'A'
		}
	}
	return subtle.ConstantTimeCompare(g, []byte(want)) == 1
}

// signer holds the API key where printers cannot reach it: the key lives
// only in this closure's captured variable.
type signer func(p params, lower bool) string

func newSigner(apiKey string) signer {
	return func(p params, lower bool) string { return signSorted(p, apiKey, lower) }
}

// newNonce returns a nonce_str: crypto/rand.Text, 26 characters of
// [A-Z2-7] (128 random bits), within the 32 allowed.
func newNonce() string {
	t := rand.Text()
	if len(t) > 32 {
		t = t[:32]
	}
	return t
}
