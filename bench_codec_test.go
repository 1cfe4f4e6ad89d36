package redpack

import (
	"testing"
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
	p := benchSendParams()
	sign := newSigner(vecKey)
	b.ReportAllocs()
	for b.Loop() {
		if s := sign(p, false); len(s) != 32 {
			b.Fatal(s)
		}
	}
}

func BenchmarkDecodeXML(b *testing.B) {
	for _, tc := range []struct {
		name  string
		query bool
	}{{"sendredpack_success_real.xml", false}, {"gethbinfo_group.xml", true}} {
		b.Run(tc.name, func(b *testing.B) {
			body := readResponse(b, tc.name)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := decodeXML(body, tc.query)
				if err != nil || r.get("return_code") != "SUCCESS" {
					b.Fatal(err)
				}
			}
		})
	}
}
