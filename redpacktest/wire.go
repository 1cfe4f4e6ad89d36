package redpacktest

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redpack-go/redpack"
)

// failTexts are err_code_des texts imitating the real ones, for injected
// err_code answers.
var failTexts = map[string]string{
	"SYSTEMERROR":      "系统错误,请稍后使用原单号重试,请勿更换单号",
	"PROCESSING":       "请求已受理，请稍后使用原单号查询发放结果",
	"FREQ_LIMIT":       "超过频率限制,请稍后再试",
	"SEND_FAILED":      "该红包已经发放失败,请更换单号再重试",
	"FATAL_ERROR":      "该单号已存在,且参数(re_openid/total_amount)与原单不一致",
	"NOTENOUGH":        "帐号余额不足，请到商户平台充值后再重试",
	"SENDNUM_LIMIT":    "该用户今日操作次数超过限制,如有需要请登录微信支付商户平台更改API安全配置",
	"RCVDAMOUNT_LIMIT": "该用户今日领取红包金额超过限制",
	"SENDAMOUNT_LIMIT": "商户今日发放金额超过限制",
	"MONEY_LIMIT":      "发放金额必须在1.00元到200.00元之间,其他金额请设置场景",
	"NOT_FOUND":        "指定单号数据不存在",
	"SIGN_ERROR":       "签名错误",
	"CA_ERROR":         "证书出错,请登录微信支付商户平台下载证书",
	"PARAM_ERROR":      "参数错误",
	"XML_ERROR":        "输入数据格式错误",
	"NO_AUTH":          "发放失败,此请求可能存在风险,已被微信拦截",
}

func failText(code string) string {
	if t, ok := failTexts[code]; ok {
		return t
	}
	return "redpacktest: injected " + code
}

// signFields is the v2 MD5 signature (uppercase hex) of the non-empty
// fields except sign, sorted by name, with the key appended (SPEC §1.3).
// The fake computes it itself rather than calling package redpack, so that
// it checks the client's signing independently.
func signFields(f map[string]string, key string) string {
	keys := make([]string, 0, len(f))
	for k, v := range f {
		if k != "sign" && v != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + f[k] + "&")
	}
	b.WriteString("key=" + key)
	sum := md5.Sum([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// verifySign compares the received sign with the expected one in constant
// time; hex case is ignored.
func verifySign(f map[string]string, key string) bool {
	want := signFields(f, key)
	got := strings.ToUpper(f["sign"])
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// maxBody caps a request body; a larger one is answered XML_ERROR.
const maxBody = 64 << 10

// parseBody decodes a flat <xml> request: one element per field, text or
// CDATA, no nesting, no field twice, UTF-8 only.
func parseBody(body []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	// A nil CharsetReader refuses every encoding but UTF-8.
	fields := make(map[string]string, 16)
	depth := 0
	var name string
	var text []byte
	seenRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !seenRoot || depth != 0 {
				return nil, errors.New("empty or truncated document")
			}
			return fields, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch depth {
			case 0:
				if seenRoot || t.Name.Local != "xml" {
					return nil, errors.New("root element must be the only <xml>")
				}
				seenRoot = true
			case 1:
				name, text = t.Name.Local, text[:0]
				if _, dup := fields[name]; dup {
					return nil, errors.New("field " + name + " given twice")
				}
			default:
				return nil, errors.New("nested element in " + name)
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 1 {
				fields[name] = string(text)
			}
		case xml.CharData:
			if depth == 2 {
				text = append(text, t...)
			} else if len(bytes.TrimSpace(t)) != 0 {
				return nil, errors.New("text outside a field")
			}
		case xml.Directive:
			return nil, errors.New("directives are not allowed")
		}
	}
}

// kv is one answer field.
type kv struct{ k, v string }

// answer is an XML answer.
type answer struct {
	fields []kv
	hblist []redpack.Receiver
	code   string // for Request.Answer
}

func (a *answer) add(k, v string) {
	if v != "" {
		a.fields = append(a.fields, kv{k, v})
	}
}

// encode writes the answer: strings as CDATA, integers plain, as the real
// server mixes them.
func (a *answer) encode() []byte {
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, f := range a.fields {
		writeElement(&b, f.k, f.v)
	}
	if len(a.hblist) > 0 {
		b.WriteString("<hblist>")
		for _, r := range a.hblist {
			b.WriteString("<hbinfo>")
			writeElement(&b, "openid", r.OpenID)
			writeElement(&b, "amount", strconv.FormatInt(r.Amount, 10))
			writeElement(&b, "rcv_time", r.RcvTime.In(cst).Format(queryTime))
			b.WriteString("</hbinfo>")
		}
		b.WriteString("</hblist>")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

func writeElement(b *bytes.Buffer, k, v string) {
	b.WriteString("<" + k + ">")
	if isDigits(v) {
		b.WriteString(v)
	} else {
		b.WriteString("<![CDATA[")
		b.WriteString(strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>"))
		b.WriteString("]]>")
	}
	b.WriteString("</" + k + ">")
}

const queryTime = "2006-01-02 15:04:05"

// protocolFail is a return_code=FAIL answer (XML_ERROR, SIGN_ERROR,
// CA_ERROR): the protocol layer refused the request.
func protocolFail(code, msg string) *answer {
	a := &answer{code: code}
	a.add("return_code", "FAIL")
	a.add("return_msg", msg)
	a.add("result_code", "FAIL")
	a.add("err_code", code)
	a.add("err_code_des", msg)
	return a
}

// businessFail is a return_code=SUCCESS, result_code=FAIL answer with the
// echo fields of the request.
func businessFail(code, des string, echo []kv) *answer {
	return failure("SUCCESS", code, des, echo)
}

// failure is an err_code answer with the given return_code.
func failure(returnCode, code, des string, echo []kv) *answer {
	a := &answer{code: code}
	a.add("return_code", returnCode)
	a.add("return_msg", des)
	a.add("result_code", "FAIL")
	a.add("err_code", code)
	a.add("err_code_des", des)
	for _, e := range echo {
		a.add(e.k, e.v)
	}
	return a
}

// echoFields are the request fields a send answer repeats; gethbinfo
// answers repeat mch_billno and mch_id. Nothing else of the request (never
// its sign) is echoed.
func echoFields(op Endpoint, f map[string]string) []kv {
	names := []string{"mch_billno", "mch_id", "wxappid", "re_openid", "total_amount"}
	if op == EndpointQuery {
		names = names[:2]
	}
	out := make([]kv, 0, len(names))
	for _, n := range names {
		out = append(out, kv{n, f[n]})
	}
	return out
}

func writeXML(w http.ResponseWriter, a *answer) {
	body := a.encode()
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func formatSendTime(t time.Time) string { return t.In(cst).Format("20060102150405") }
