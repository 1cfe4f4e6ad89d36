package redpacktest

import (
	"bytes"
	"maps"
	"testing"
)

// FuzzParseBody: the fake's request decoder never panics, and what it
// accepts survives a round trip through the encoding the tests use.
func FuzzParseBody(f *testing.F) {
	f.Add([]byte("<xml><mch_id>1900000109</mch_id><sign><![CDATA[ABC]]></sign></xml>"))
	f.Add([]byte(`<?xml version="1.0" encoding="GBK"?><xml><a>1</a></xml>`))
	f.Add([]byte("<xml><a><b>1</b></a></xml>"))
	f.Add([]byte("<xml><a>1</a><a>2</a></xml>"))
	f.Add([]byte("<xml>text<a>&#39;</a></xml>"))
	f.Add([]byte("<!DOCTYPE x><xml/>"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := parseBody(body)
		if err != nil {
			if fields != nil {
				t.Fatalf("fields %v with error %v", fields, err)
			}
			return
		}
		for k, v := range fields {
			if !validXMLName(k) || !validCDATA(v) {
				return // not expressible by encodeFields
			}
		}
		again, err := parseBody(encodeFields(fields))
		if err != nil {
			t.Fatalf("re-encoded %v does not parse: %v", fields, err)
		}
		if !maps.Equal(fields, again) {
			t.Fatalf("round trip changed %v to %v", fields, again)
		}
	})
}

// FuzzServeRequest: whatever body arrives, the fake answers (no panic, no
// hang) and records the request; a body that is not a signed request pays
// nothing.
func FuzzServeRequest(f *testing.F) {
	s := NewServer()
	f.Cleanup(s.Close)
	hc := merchantClient(f, s)
	f.Add([]byte("<xml><mch_id>1900000109</mch_id></xml>"), uint8(0))
	f.Add([]byte("<xml><total_amount>99999999999999999999</total_amount></xml>"), uint8(2))
	f.Add([]byte("\x00\xff<xml"), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, ep uint8) {
		op := endpoints[int(ep)%len(endpoints)]
		res, err := hc.Post(s.URL()+pathPrefix+string(op), "text/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("HTTP %d", res.StatusCode)
		}
		if s.TotalPaid() != 0 {
			t.Fatalf("an unsigned body paid %d", s.TotalPaid())
		}
	})
}

func validXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validCDATA(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || r < 0x20 && r != '\t' && r != '\n' || r == '\r' {
			return false
		}
	}
	for i := 0; i+2 < len(s); i++ {
		if s[i:i+3] == "]]>" {
			return false
		}
	}
	return true
}
