package redpack

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzDecodeXML: decodeXML never panics; whatever it accepts re-encodes
// (flat fields, document order) into a request-shaped body that decodes to
// the same fields; the client's readers of an answer never panic on it.
func FuzzDecodeXML(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "responses"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		f.Add(readResponse(f, e.Name()))
	}
	for _, body := range hostileBodies() {
		if len(body) <= 4096 {
			f.Add([]byte(body))
		}
	}
	f.Add([]byte("<xml><a><![CDATA[x]]]]><![CDATA[>y]]></a><b>&lt;&amp;&gt;</b><c>p\r\nq</c></xml>"))
	f.Add([]byte("<xml><hblist><hbinfo><amount>1</amount></hbinfo><x/></hblist><sign>ab</sign></xml>"))

	pr := &prepared{ep: epSend, billNo: "B", params: params{{"mch_billno", "B"}, {"total_amount", "100"}, {"total_num", "1"}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		if q, err := decodeXML(body, true); err == nil {
			_, _ = recordFrom(q, body, "B")
			if len(q.hbinfo) > maxHBInfo {
				t.Fatalf("%d hbinfo entries", len(q.hbinfo))
			}
		}
		r, err := decodeXML(body, false)
		if err != nil {
			if r != nil {
				t.Fatal("a response with an error")
			}
			return
		}
		if len(body) > maxResponseBytes {
			t.Fatalf("accepted %d bytes", len(body))
		}
		// The readers of an answer must cope with anything decoded.
		_, _, _ = classify(pr, result{answer: r, raw: body, sent: true}, true)
		_ = sendResult(r, body, pr)
		_ = responseParams(r)
		if len(r.fields) > maxFields || r.hbinfo != nil {
			t.Fatalf("%d fields, hbinfo %v on a send answer", len(r.fields), r.hbinfo != nil)
		}

		var flat params
		for _, kv := range r.fields {
			if !utf8.ValidString(kv.v) {
				t.Fatalf("field %s: invalid UTF-8 %q", kv.k, kv.v)
			}
			if strings.ContainsRune(kv.v, '\r') {
				t.Fatalf("field %s: CR survived XML line-end normalisation: %q", kv.k, kv.v)
			}
			if kv.v != "" {
				flat = append(flat, kv) // encodeXML omits empty values
			}
		}
		again, err := decodeXML(encodeXML(nil, flat, ""), false)
		if err != nil {
			t.Fatalf("re-encoded fields do not decode: %v\nfields %q", err, flat)
		}
		if diff := cmp.Diff(flat, again.fields, cmp.AllowUnexported(param{}), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		if len(again.hbinfo) != 0 {
			t.Fatal("flat re-encoding produced hbinfo")
		}
	})
}

// FuzzValidate runs a sendredpack request through the prepare stage Send
// runs. Accepted requests must be within every documented limit, and their
// signed body must decode back to the same values and verify.
func FuzzValidate(f *testing.F) {
	c := offlineClient(f, uniqueMchID(), okAppID)
	f.Add("1", okOpenID, "腾讯", "恭喜发财", "新年红包", "新年红包", "127.0.0.1", "", "", "", "", "", int64(100))
	f.Add("1900000109202611280012345678", "oTkpCvp_3hrnqUWL-eflHWBTrfUY", strings.Repeat("红", 10), "a]]>b", "x", "<&>",
		"10.0.0.1", "PRODUCT_2", "10000097", "86-13800138000", "IOS", "1.2.3", int64(499900))
	f.Add("", okOpenID, " 腾讯", "恭喜\n发财", "\uffff", "\xff", "01.2.3.4", "PRODUCT_9", "1a", "+86", "a b", "版本", int64(99))
	// Valid but for a noncharacter XML cannot carry (found by this target).
	f.Add("B1", okOpenID, "腾讯", "恭喜\uffff发财", "新年红包", "新年红包", "127.0.0.1", "", "", "", "", "", int64(100))
	f.Add("B2", okOpenID, "a\u2028b", "\u00a0x", "x\u3000", "\u200b", "255.255.255.255", "", "", "", "", "", int64(20000))

	f.Fuzz(func(t *testing.T, billNo, openID, sendName, wishing, actName, remark, clientIP, scene, consume, mobile, deviceID, version string, amount int64) {
		req := SendRequest{
			Packet: Packet{BillNo: billNo, OpenID: openID, Amount: amount, SendName: sendName, Wishing: wishing, ActName: actName, Remark: remark,
				SceneID: SceneID(scene)},
			ClientIP: clientIP, ConsumeMchID: consume,
			RiskInfo: RiskInfo{ClientVersion: version, Mobile: mobile, DeviceID: deviceID},
		}
		if len(version)%2 == 1 {
			req.RiskInfo.PostTime = time.Unix(1700000000+amount%1000, 0)
		}
		pr, err := c.prepareSend(&req)
		if err != nil {
			ve := err.(*ValidationError)
			want := billNo
			if ve.Has("mch_billno") {
				want = "" // an invalid bill number is never carried
			}
			if len(ve.Fields) == 0 || ve.BillNo != want {
				t.Fatalf("a validation error without fields or bill number: %v", ve)
			}
			return
		}

		for _, tf := range []struct {
			name, v string
			max     int
		}{{"send_name", sendName, 32}, {"wishing", wishing, 128}, {"act_name", actName, 32}, {"remark", remark, 256}} {
			if tf.v == "" || !utf8.ValidString(tf.v) || len(tf.v) > tf.max {
				t.Fatalf("%s accepted: %q (%d bytes)", tf.name, tf.v, len(tf.v))
			}
			first, _ := utf8.DecodeRuneInString(tf.v)
			last, _ := utf8.DecodeLastRuneInString(tf.v)
			if unicode.IsSpace(first) || unicode.IsSpace(last) {
				t.Fatalf("%s accepted with leading or trailing space: %q", tf.name, tf.v)
			}
		}
		if billNo == "" || len(billNo) > 28 || len(openID) == 0 || len(openID) > 32 || len(consume) > 32 || len(clientIP) > 15 {
			t.Fatalf("identifier out of bounds accepted: bill %q openid %q consume %q ip %q", billNo, openID, consume, clientIP)
		}
		if amount < 1 || amount > MaxSceneAmount || (scene == "" && (amount < MinAmount || amount > MaxAmount)) {
			t.Fatalf("amount %d accepted with scene %q", amount, scene)
		}
		if ri := pr.params.get("risk_info"); len(ri) > 128 {
			t.Fatalf("risk_info %d bytes", len(ri))
		}
		r, err := decodeXML(pr.body, false)
		if err != nil {
			t.Fatalf("accepted request encodes to a body that does not decode: %v\n%s", err, pr.body)
		}
		sign := r.get("sign")
		want := append(params(nil), pr.params...)
		want = append(want, param{"sign", sign})
		if diff := cmp.Diff(want, r.fields, cmp.AllowUnexported(param{})); diff != "" {
			t.Fatalf("body does not carry the signed values (-want +got):\n%s", diff)
		}
		if !VerifySign(fieldsOf(r), vecKey) {
			t.Fatalf("body's sign does not verify: %s", pr.body)
		}
	})
}

// refSign is the reference signature, written from SPEC §1.3 with nothing
// shared with the package: sort.Strings, strings.Builder, crypto/md5.
func refSign(fields map[string]string, key string) string {
	var names []string
	for k, v := range fields {
		if k != "sign" && v != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(fields[k])
		b.WriteString("&")
	}
	b.WriteString("key=")
	b.WriteString(key)
	sum := md5.Sum([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// FuzzSign: Sign equals the reference for arbitrary fields and keys;
// VerifySign accepts it (in either case) and refuses a one-character change.
func FuzzSign(f *testing.F) {
	for _, v := range signVectors {
		keys := make([]string, 0, 3)
		for k := range v.fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for len(keys) < 3 {
			keys = append(keys, "")
		}
		f.Add(keys[0], v.fields[keys[0]], keys[1], v.fields[keys[1]], keys[2], v.fields[keys[2]], vecKey, uint8(0))
	}
	f.Add("sign", "X", "wishing", "恭喜发财", "risk_info", "a%3Db%26c", vecKey, uint8(7))
	f.Add("a", "b&c=d", "c", "", "=", "&", "", uint8(31))

	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3, key string, pos uint8) {
		fields := map[string]string{k1: v1, k2: v2, k3: v3}
		want := refSign(fields, key)
		got := Sign(fields, key)
		if got != want {
			t.Fatalf("Sign = %s, reference %s, fields %q", got, want, fields)
		}
		fields["sign"] = got
		if !VerifySign(fields, key) {
			t.Fatalf("VerifySign refuses its own sign")
		}
		fields["sign"] = strings.ToLower(got)
		if !VerifySign(fields, key) {
			t.Fatalf("VerifySign refuses the lowercase sign")
		}
		i := int(pos) % len(got)
		changed := []byte(got)
		if changed[i] == '0' {
			changed[i] = '1'
		} else {
			changed[i] = '0'
		}
		fields["sign"] = string(changed)
		if VerifySign(fields, key) {
			t.Fatalf("VerifySign accepts %s for %s", changed, got)
		}
		fields["sign"] = got[:i] + got[i+1:]
		if VerifySign(fields, key) {
			t.Fatalf("VerifySign accepts a sign with a character removed")
		}
		// A changed value invalidates the sign.
		fields["sign"] = got
		for _, k := range []string{k1, k2, k3} {
			if k != "sign" && fields[k] != "" {
				fields[k] += "x"
				if VerifySign(fields, key) {
					t.Fatalf("VerifySign accepts a changed %q", k)
				}
				break
			}
		}
	})
}
