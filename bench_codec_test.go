package redpack

import (
	"testing"
	"time"
)

// benchSendParams are the signed fields of a typical sendredpack request,
// sorted, nonce included.
func benchSendParams() params {
	p := params{
		{"act_name", "新年红包"}, {"client_ip", "127.0.0.1"}, {"mch_billno", "1900000109202611280012345678"},
		{"mch_id", "1900000109"}, {"nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"}, {"re_openid", okOpenID},
		{"remark", "新年红包"}, {"send_name", "腾讯"}, {"total_amount", "100"}, {"total_num", "1"},
		{"wishing", "恭喜发财"}, {"wxappid", okAppID},
	}
	p.sort()
	return p
}

func BenchmarkSign(b *testing.B) {
	b.Run("signSorted", func(b *testing.B) {
		p := benchSendParams()
		sign := newSigner(vecKey)
		b.ReportAllocs()
		for b.Loop() {
			if s := sign(p, false); len(s) != 32 {
				b.Fatal(s)
			}
		}
	})
	b.Run("Sign map", func(b *testing.B) {
		m := map[string]string{}
		for _, kv := range benchSendParams() {
			m[kv.k] = kv.v
		}
		b.ReportAllocs()
		for b.Loop() {
			if s := Sign(m, vecKey); len(s) != 32 {
				b.Fatal(s)
			}
		}
	})
}

func BenchmarkEncodeXML(b *testing.B) {
	p := benchSendParams()
	sign := newSigner(vecKey)(p, false)
	b.ReportAllocs()
	for b.Loop() {
		body := encodeXML(make([]byte, 0, encodedLen(p, sign)), p, sign)
		if len(body) == 0 {
			b.Fatal("empty body")
		}
	}
}

// BenchmarkDecodeXML compares the hand-written scanner (decodeXML) with the
// encoding/xml reference it replaced, on the same answers.
func BenchmarkDecodeXML(b *testing.B) {
	for _, name := range []string{"sendredpack_success_real.xml", "gethbinfo_group.xml"} {
		for _, dec := range []struct {
			name string
			fn   func([]byte) (*response, error)
		}{{"scanner", decodeXML}, {"encoding-xml", decodeXMLReference}} {
			b.Run(name+"/"+dec.name, func(b *testing.B) {
				body := readResponse(b, name)
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					r, err := dec.fn(body)
					if err != nil || r.get("return_code") != "SUCCESS" {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	c := &Client{opts: defaultOptions()}
	req := validSendRequest()
	req.BillNo = "1900000109202611280012345678"
	req.ClientIP = "10.1.2.3"
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.checkSend(&req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBillNo(b *testing.B) {
	g := newBillNoGen(uniqueMchID(), 0, time.Now)
	b.ReportAllocs()
	for b.Loop() {
		if s := g.next(); len(s) != billNoMaxLen {
			b.Fatal(s)
		}
	}
}

func BenchmarkNonce(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if s := newNonce(); len(s) != 32 {
			b.Fatal(s)
		}
	}
}
