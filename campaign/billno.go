package campaign

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
)

// billRef is the reference a row's bill number is derived from: the
// campaign's random uid (drawn at creation, so the same campaign id in two
// database files still gives different numbers), the row key and the
// generation. Length prefixes keep (uid, key, gen) unambiguous whatever the
// key holds.
func billRef(uid, key string, generation int) string {
	return strconv.Itoa(len(uid)) + ":" + uid + "/" + strconv.Itoa(len(key)) + ":" + key + "/" + strconv.Itoa(generation)
}

// newUID returns 16 random hex characters.
func newUID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
