package redpack

import (
	"errors"
	"strconv"
	"strings"
)

// maxResponseBytes caps how much of an answer is read. A gethbinfo answer for
// a large group packet is a few KiB per hundred receivers; anything near the
// cap is hostile.
const maxResponseBytes = 1 << 20

// encodeXML appends the request body for p (sorted by name) and its sign to
// dst: a flat <xml> document, one CDATA element per non-empty field, sign last.
func encodeXML(dst []byte, p params, sign string) []byte {
	dst = append(dst, "<xml>"...)
	for _, kv := range p {
		if kv.v == "" {
			continue
		}
		dst = appendElement(dst, kv.k, kv.v)
	}
	if sign != "" {
		dst = appendElement(dst, "sign", sign)
	}
	return append(dst, "</xml>"...)
}

// encodedLen is the exact size of encodeXML's output when no value contains
// "]]>" (each of those adds 12 bytes, and append grows the buffer then).
func encodedLen(p params, sign string) int {
	n := len("<xml></xml>")
	for _, kv := range p {
		if kv.v != "" {
			n += 2*len(kv.k) + len(kv.v) + len("<><![CDATA[]]></>")
		}
	}
	if sign != "" {
		n += 2*len("sign") + len(sign) + len("<><![CDATA[]]></>")
	}
	return n
}

// appendElement writes <k><![CDATA[v]]></k>. A "]]>" inside v would end the
// section early, so it is split across two sections: "]]" ends the first,
// ">" starts the next. Names are package constants, never user input.
func appendElement(dst []byte, k, v string) []byte {
	dst = append(dst, '<')
	dst = append(dst, k...)
	dst = append(dst, "><![CDATA["...)
	for {
		i := strings.Index(v, "]]>")
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+2]...)
		dst = append(dst, "]]><![CDATA["...)
		v = v[i+2:]
	}
	dst = append(dst, v...)
	dst = append(dst, "]]></"...)
	dst = append(dst, k...)
	return append(dst, '>')
}

// response is a decoded answer: the flat fields of <xml> and, for gethbinfo,
// the <hblist><hbinfo> entries.
type response struct {
	fields   params // in document order
	hbinfo   []map[string]string
	attempts int // set by Client.call: the attempts it took
}

func (r *response) get(k string) string { return r.fields.get(k) }

// intField parses an integer field leniently: absent or empty is 0, and
// surrounding white space is ignored. ok is false only when a non-empty
// value is not an integer.
func intField(s string) (n int64, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

var errNotXML = errors.New("not a WeChat Pay XML answer")

// decodeXML decodes a flat WeChat Pay answer (see scanXML). It accepts plain
// or CDATA text, integers with or without CDATA, and one level of nesting for
// <hblist><hbinfo>; other nested elements are skipped. A field given twice,
// a root other than <xml>, malformed XML or a body larger than
// maxResponseBytes is an error. It never panics.
func decodeXML(body []byte) (*response, error) {
	if len(body) > maxResponseBytes {
		return nil, errors.New("answer larger than 1 MiB")
	}
	return scanXML(body)
}
