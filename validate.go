package redpack

import (
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Limits from the protocol specification (§1.6, §2). Text limits count UTF-8
// bytes: a Chinese character costs 3.
const (
	maxSendName = 32
	maxActName  = 32
	maxWishing  = 128
	maxRemark   = 256
	maxOpenID   = 32
	maxRiskInfo = 128
	maxID       = 32

	// MinAmount and MaxAmount bound Amount (fen) without a SceneID: 1.00 to
	// 200.00 yuan. WeChat Pay refuses anything else unless a scene is
	// configured for the merchant.
	MinAmount = 100
	MaxAmount = 20000
	// MaxSceneAmount bounds Amount (fen) with a SceneID: the documented
	// ceiling of 4,999.00 yuan. The merchant's configured scene range is
	// enforced by WeChat Pay (MONEY_LIMIT).
	MaxSceneAmount = 499900
	// MinGroupNum is the smallest TotalNum of a group red packet.
	MinGroupNum = 3
	// Group packets: every share 1.00–1000.00 yuan, the average share
	// 1.00–200.00 yuan.
	maxGroupShareAvg = 20000
)

// checker collects every problem with a request before anything is sent.
type checker struct {
	op     string
	bill   string // the request's bill number, for the error when valid
	fields []FieldError
}

func (c *checker) fail(field, reason string) {
	c.fields = append(c.fields, FieldError{Field: field, Reason: reason})
}

func (c *checker) err() error {
	if len(c.fields) == 0 {
		return nil
	}
	e := &ValidationError{Op: c.op, Fields: c.fields}
	if !e.Has("mch_billno") {
		// Only a valid bill number is carried: an invalid one may be a
		// secret pasted into the wrong field.
		e.BillNo = c.bill
	}
	return e
}

// text checks a free-text field: required, valid UTF-8, at most max bytes,
// no leading or trailing white space (it breaks the signature), no control
// characters.
func (c *checker) text(field, v string, max int, required bool) {
	if v == "" {
		if required {
			c.fail(field, "required")
		}
		return
	}
	if !utf8.ValidString(v) {
		c.fail(field, "not valid UTF-8")
		return
	}
	if len(v) > max {
		c.fail(field, "longer than "+strconv.Itoa(max)+" bytes (UTF-8), got "+strconv.Itoa(len(v)))
	}
	first, _ := utf8.DecodeRuneInString(v)
	last, _ := utf8.DecodeLastRuneInString(v)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		c.fail(field, "leading or trailing white space")
	}
	for _, r := range v {
		// U+FFFE and U+FFFF are not XML characters: the body would be
		// malformed (XML_ERROR).
		if unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			c.fail(field, "contains a control character or a character XML cannot carry")
			break
		}
	}
}

// token checks an identifier: required, at most max bytes, every byte
// allowed by ok.
func (c *checker) token(field, v string, max int, required bool, ok func(byte) bool, want string) {
	if v == "" {
		if required {
			c.fail(field, "required")
		}
		return
	}
	if len(v) > max {
		c.fail(field, "longer than "+strconv.Itoa(max)+" characters, got "+strconv.Itoa(len(v)))
	}
	if !every(v, ok) {
		c.fail(field, "must be "+want)
	}
}

// every reports whether ok holds for every byte of s. A byte of a multi-byte
// UTF-8 sequence is never ASCII, so the byte classes below refuse it.
func every(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// validBillNo reports whether s is a bill number: 1 to 28 of [0-9A-Za-z].
func validBillNo(s string) bool { return s != "" && len(s) <= billNoMaxLen && every(s, isAlnum) }

// validMchID reports whether s is a merchant ID: 1 to 32 digits.
func validMchID(s string) bool { return s != "" && len(s) <= maxID && every(s, isDigit) }

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
func isAlnum(b byte) bool {
	return isDigit(b) || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}
func isOpenIDByte(b byte) bool { return isAlnum(b) || b == '-' || b == '_' }

// appIDs and tokens printed in ValidationErrors are wire names only: values
// are never quoted back, so a mistyped secret pasted in the wrong field does
// not reach a log.

// billNo checks a required bill number. The caller owns the number for the
// payment's whole life, so an empty one is refused rather than generated.
func (c *checker) billNo(v string) {
	if v == "" {
		c.fail("mch_billno", "required: take one from Client.NewBillNo or Client.BillNoFor and store it before sending")
		return
	}
	c.token("mch_billno", v, billNoMaxLen, true, isAlnum, "[0-9A-Za-z]")
}

func (c *checker) openID(v string) {
	c.token("re_openid", v, maxOpenID, true, isOpenIDByte, "[0-9A-Za-z_-]")
}

func (c *checker) clientIP(v string) {
	if !isDottedIPv4(v) {
		c.fail("client_ip", "must be a dotted IPv4 address")
	}
}

// isDottedIPv4 reports whether v is four decimal octets 0–255 joined by dots,
// without leading zeros (the canonical form WeChat Pay's String(15) holds).
func isDottedIPv4(v string) bool {
	if len(v) > 15 {
		return false
	}
	for part := 0; part < 4; part++ {
		if part > 0 {
			if v == "" || v[0] != '.' {
				return false
			}
			v = v[1:]
		}
		n, digits := 0, 0
		for digits < len(v) && isDigit(v[digits]) {
			n = n*10 + int(v[digits]-'0')
			digits++
			if digits > 3 {
				return false
			}
		}
		if digits == 0 || n > 255 || (digits > 1 && v[0] == '0') {
			return false
		}
		v = v[digits:]
	}
	return v == ""
}

func (c *checker) scene(s SceneID) {
	if s != "" && !s.valid() {
		c.fail("scene_id", "unknown scene (PRODUCT_1 to PRODUCT_8)")
	}
}

// amount checks a single-packet amount in fen. guard is the client's
// optional overpayment ceiling (0 = none).
func (c *checker) amount(n int64, scene SceneID, guard int64) {
	lo, hi := int64(MinAmount), int64(MaxAmount)
	if scene != "" {
		lo, hi = 1, MaxSceneAmount
	}
	if n < lo || n > hi {
		c.fail("total_amount", "must be "+strconv.FormatInt(lo, 10)+" to "+strconv.FormatInt(hi, 10)+" fen, got "+strconv.FormatInt(n, 10))
		return
	}
	if guard > 0 && n > guard {
		c.fail("total_amount", "above the client's maximum of "+strconv.FormatInt(guard, 10)+" fen")
	}
}

// group checks a fission packet's share count and total. The bounds are
// MinAmount·num and maxGroupShareAvg·num; a num so large that they overflow
// int64 cannot be paid by any total.
func (c *checker) group(total int64, num int, guard int64) {
	if num < MinGroupNum {
		c.fail("total_num", "must be at least "+strconv.Itoa(MinGroupNum)+", got "+strconv.Itoa(num))
		return
	}
	if int64(num) > math.MaxInt64/maxGroupShareAvg {
		c.fail("total_num", "too large, got "+strconv.Itoa(num))
		return
	}
	lo, hi := int64(MinAmount)*int64(num), int64(maxGroupShareAvg)*int64(num)
	if total < lo || total > hi {
		c.fail("total_amount", "must be "+strconv.FormatInt(lo, 10)+" to "+strconv.FormatInt(hi, 10)+
			" fen for "+strconv.Itoa(num)+" shares (1.00–200.00 yuan a share on average), got "+strconv.FormatInt(total, 10))
		return
	}
	if guard > 0 && total > guard {
		c.fail("total_amount", "above the client's maximum of "+strconv.FormatInt(guard, 10)+" fen")
	}
}

// packet checks the fields every send endpoint shares.
func (c *checker) packet(f *Packet) {
	c.billNo(f.BillNo)
	c.openID(f.OpenID)
	c.text("send_name", f.SendName, maxSendName, true)
	c.text("wishing", f.Wishing, maxWishing, true)
	c.text("act_name", f.ActName, maxActName, true)
	c.text("remark", f.Remark, maxRemark, true)
	c.scene(f.SceneID)
}

// extras checks risk_info and consume_mch_id (sendredpack and
// sendgroupredpack only).
func (c *checker) extras(ri RiskInfo, consumeMchID string) {
	c.token("consume_mch_id", consumeMchID, maxID, false, isDigit, "digits")
	risk, ok := ri.encode()
	if !ok {
		c.fail("risk_info", "mobile must be digits with an optional country-code dash; texts must be printable ASCII")
	} else if len(risk) > maxRiskInfo {
		c.fail("risk_info", "longer than "+strconv.Itoa(maxRiskInfo)+" bytes once encoded, got "+strconv.Itoa(len(risk)))
	}
}
