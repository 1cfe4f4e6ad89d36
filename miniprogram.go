package redpack

import (
	"net/url"
	"strconv"
	"strings"
)

// BizRedPacket is what the mini program passes to wx.sendBizRedPacket. Its
// JSON field names are the ones the front end needs.
type BizRedPacket struct {
	TimeStamp string `json:"timeStamp"` // Unix seconds, as a string
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`  // the package, URL-encoded
	SignType  string `json:"signType"` // always "MD5"
	PaySign   string `json:"paySign"`  // lowercase MD5 hex
}

// BizRedPacket builds the parameters of wx.sendBizRedPacket for pkg, the
// Package of a SendMiniProgramResult. It refuses a package that is not of
// the documented shape (sendid=<64 hex>&ver=<digits>&sign=<128 hex>&mchid=
// <mch_id>&appid=<appid>) or whose mchid and appid are not the Client's: a
// Client bound to the Official Account appid cannot sign a mini-program
// package (use the Client from ForAppID).
//
// paySign is the MD5 (lowercase hex) of appId, nonceStr, package
// (URL-encoded, as passed to the call) and timeStamp, signed with the API
// key; signType is not signed. The timestamp and nonce come from the
// Client's clock and nonce function.
func (c *Client) BizRedPacket(pkg string) (BizRedPacket, error) {
	if reason := c.packageProblem(pkg); reason != "" {
		return BizRedPacket{}, &ValidationError{Op: "sendBizRedPacket", Fields: []FieldError{{"package", reason}}}
	}
	b := BizRedPacket{
		TimeStamp: strconv.FormatInt(c.opts.now().Unix(), 10),
		NonceStr:  c.opts.nonce(),
		Package:   url.QueryEscape(pkg),
		SignType:  "MD5",
	}
	// Already in byte order: appId < nonceStr < package < timeStamp.
	b.PaySign = c.sign(params{{"appId", c.appID}, {"nonceStr", b.NonceStr}, {"package", b.Package}, {"timeStamp", b.TimeStamp}}, true)
	return b, nil
}

// packageProblem says what is wrong with pkg, or "". Values are never
// quoted back.
func (c *Client) packageProblem(pkg string) string {
	if pkg == "" {
		return "required"
	}
	if len(pkg) > 512 {
		return "longer than 512 bytes"
	}
	want := []string{"sendid", "ver", "sign", "mchid", "appid"}
	parts := strings.Split(pkg, "&")
	if len(parts) != len(want) {
		return "must be sendid=…&ver=…&sign=…&mchid=…&appid=…"
	}
	for i, part := range parts {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k != want[i] {
			return "must be sendid=…&ver=…&sign=…&mchid=…&appid=…"
		}
		switch k {
		case "sendid":
			if !isHex(v, 64) {
				return "sendid must be 64 hex digits"
			}
		case "ver":
			if v == "" || len(v) > 4 || !every(v, isDigit) {
				return "ver must be digits"
			}
		case "sign":
			if !isHex(v, 128) {
				return "sign must be 128 hex digits"
			}
		case "mchid":
			if v != c.mchID {
				return "mchid is not this Client's mch_id"
			}
		case "appid":
			if v != c.appID {
				return "appid is not this Client's appid (sign a mini-program package with the Client from ForAppID)"
			}
		}
	}
	return ""
}

func isHex(s string, n int) bool { return len(s) == n && every(s, isHexDigit) }

func isHexDigit(b byte) bool { return isDigit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F') }
