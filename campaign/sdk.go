package campaign

// Every call into package redpack lives in this file, so that following the
// core API is one small edit.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/redpack-go/redpack"
)

// billNamespace is the bill-number namespace reserved for campaigns.
const billNamespace = 'C'

// deriveBillNo is the deterministic bill number: mch_id (last 10
// characters) + namespace letter + 17 base-36 characters of SHA-256 over
// (mch_id, namespace, ref). The letter keeps it apart from the SDK's
// time-based numbers, which are all digits after the mch_id.
func deriveBillNo(mchID string, ref string) (string, error) {
	if mchID == "" {
		return "", errors.New("campaign: empty mch_id")
	}
	prefix := mchID
	if len(prefix) > 10 {
		prefix = prefix[len(prefix)-10:]
	}
	h := sha256.New()
	h.Write([]byte(mchID))
	h.Write([]byte{0, billNamespace, 0})
	h.Write([]byte(ref))
	n := new(big.Int).SetBytes(h.Sum(nil))
	s := strings.ToUpper(n.Text(36))
	for len(s) < 17 {
		s = "0" + s
	}
	return prefix + string(rune(billNamespace)) + s[len(s)-17:], nil
}

// Field limits of the send request (SPEC §1.6), in UTF-8 bytes.
const (
	maxSendName = 32
	maxWishing  = 128
	maxActName  = 32
	maxRemark   = 256
	maxOpenID   = 32
	maxKey      = 64
)

// checkText is the SDK's rule for a text field: required, valid UTF-8, at
// most max bytes, no leading or trailing white space, no control character.
func checkText(v string, max int) string {
	if v == "" {
		return "required"
	}
	if !utf8.ValidString(v) {
		return "not valid UTF-8"
	}
	if len(v) > max {
		return fmt.Sprintf("longer than %d bytes (UTF-8), got %d", max, len(v))
	}
	first, _ := utf8.DecodeRuneInString(v)
	last, _ := utf8.DecodeLastRuneInString(v)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return "leading or trailing white space"
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			return "contains a control character"
		}
	}
	return ""
}

func checkOpenID(v string) string {
	if v == "" {
		return "required"
	}
	if len(v) > maxOpenID {
		return fmt.Sprintf("longer than %d characters", maxOpenID)
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !(b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b == '-' || b == '_') {
			return "must be of [0-9A-Za-z_-]"
		}
	}
	return ""
}

func checkAmount(n int64) string {
	if n < redpack.MinAmount || n > redpack.MaxAmount {
		return fmt.Sprintf("must be %d to %d fen (1 to 200 yuan)", redpack.MinAmount, redpack.MaxAmount)
	}
	return ""
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }
