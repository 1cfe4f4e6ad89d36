package redpack

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
)

// param is one request or response field: wire name and raw value.
type param struct {
	k, v string
}

// params is a list of fields, sorted by name (byte order) once sort ran.
// Sorting once serves both the signature and a deterministic XML body.
type params []param

// sort orders p by name. Short lists (every request) get an insertion sort:
// requests are built almost in order (see Client.sendParams), so it runs in
// about one pass. Longer ones (an answer's fields, a caller's map given to
// Sign, possibly hostile) get an O(n log n) sort.
func (p params) sort() {
	if len(p) > 32 {
		slices.SortFunc(p, func(a, b param) int { return strings.Compare(a.k, b.k) })
		return
	}
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].k < p[j-1].k; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
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

var signBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// signSorted computes the v2 MD5 signature of p, which must be sorted by
// name: "k1=v1&k2=v2&key=KEY", MD5, uppercase hex. "sign" and empty values
// are skipped. lower selects lowercase hex (the mini-program paySign).
func signSorted(p params, key string, lower bool) string {
	bp := signBufPool.Get().(*[]byte)
	b := (*bp)[:0]
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
	// Wipe the key from the pooled buffer before handing it back.
	clear(b)
	*bp = b
	signBufPool.Put(bp)
	var out [32]byte
	hex.Encode(out[:], sum[:])
	if !lower {
		for i, c := range out {
			if c >= 'a' && c <= 'f' {
				out[i] = c - 'a' + 'A'
			}
		}
	}
	return string(out[:])
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
