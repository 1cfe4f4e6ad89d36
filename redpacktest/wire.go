package redpacktest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redpack-go/redpack"
)

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
	a := &answer{code: code}
	a.add("return_code", "SUCCESS")
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
func echoFields(op string, f map[string]string) []kv {
	names := []string{"mch_billno", "mch_id", "wxappid", "re_openid", "total_amount"}
	if op == opQuery {
		names = names[:2]
	}
	out := make([]kv, 0, len(names))
	for _, n := range names {
		out = append(out, kv{n, f[n]})
	}
	return out
}

const badGatewayBody = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>stgw</center>\r\n</body>\r\n</html>\r\n"

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
