package redpack

import (
	"crypto/md5"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// md5HexOf is the reference digest: MD5 over the bytes of s, hex.
func md5HexOf(s string, upper bool) string {
	sum := md5.Sum([]byte(s))
	h := hex.EncodeToString(sum[:])
	if upper {
		return strings.ToUpper(h)
	}
	return h
}

// sortedParams turns fields into params sorted by name (empty values kept:
// signSorted must skip them itself).
func sortedParams(fields map[string]string) params {
	p := make(params, 0, len(fields))
	for k, v := range fields {
		p = append(p, param{k, v})
	}
	p.sort()
	return p
}

// signVectors are SPEC §4 V1, V3 and V4 with the string each must sign.
var signVectors = []struct {
	name     string
	fields   map[string]string
	signTemp string // stringSignTemp, written out by hand from the spec
	want     string // published MD5, uppercase
}{
	{
		name: "V1 official worked example",
		fields: map[string]string{
			"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000", "body": "test", "nonce_str": "ibuaiVcKdpRxkhJA",
		},
		signTemp: "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d",
		want:     "9A0A8659F005D6984697E2CA0A9CF3B7",
	},
	{
		name:     "V3 two parameters",
		fields:   map[string]string{"test1": "test1", "test2": "test2"},
		signTemp: "test1=test1&test2=test2&key=192006250b4c09247ec02edce69f6a2d",
		want:     "1E3A8D73B5A4AEE787C0F68B5DAB8520",
	},
	{
		name:     "V3 with an empty value skipped",
		fields:   map[string]string{"test1": "test1", "test2": "test2", "test3": ""},
		signTemp: "test1=test1&test2=test2&key=192006250b4c09247ec02edce69f6a2d",
		want:     "1E3A8D73B5A4AEE787C0F68B5DAB8520",
	},
	{
		name: "V4 value with = not encoded",
		fields: map[string]string{
			"appid": "wx2421b1c4370ec43b", "noncestr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", "package": "Sign=WXPay",
			"partnerid": "10000100", "prepayid": "WX1217752501201407033233368018", "timestamp": "1514363815",
		},
		signTemp: "appid=wx2421b1c4370ec43b&noncestr=5K8264ILTKCH16CQ2502SI8ZNMTM67VS&package=Sign=WXPay&partnerid=10000100&prepayid=WX1217752501201407033233368018&timestamp=1514363815&key=192006250b4c09247ec02edce69f6a2d",
		want:     "66724B3332E124BFC3D62A31A68F7887",
	},
}

func TestSignVectors(t *testing.T) {
	t.Parallel()
	for _, v := range signVectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			// The transcription of the vector itself.
			if got := md5HexOf(v.signTemp, true); got != v.want {
				t.Fatalf("MD5(stringSignTemp) = %s, want %s: vector mistyped", got, v.want)
			}
			if got := Sign(v.fields, vecKey); got != v.want {
				t.Errorf("Sign = %s, want %s", got, v.want)
			}
			p := sortedParams(v.fields)
			if got := signSorted(p, vecKey, false); got != v.want {
				t.Errorf("signSorted = %s, want %s", got, v.want)
			}
			if got := signSorted(p, vecKey, true); got != strings.ToLower(v.want) {
				t.Errorf("signSorted(lower) = %s, want %s", got, strings.ToLower(v.want))
			}
			if got := newSigner(vecKey)(p, false); got != v.want {
				t.Errorf("newSigner = %s, want %s", got, v.want)
			}
			// The same fields built through params.add drop empties up front.
			var added params
			for _, kv := range p {
				added = added.add(kv.k, kv.v)
			}
			if got := signSorted(added, vecKey, false); got != v.want {
				t.Errorf("signSorted(params.add) = %s, want %s", got, v.want)
			}
			if got := Sign(v.fields, strings.ToUpper(vecKey)); got == v.want {
				t.Error("the key is case-sensitive, but an uppercased key gave the same sign")
			}
		})
	}
}

func TestSignExcludesSignField(t *testing.T) {
	t.Parallel()
	v := signVectors[0]
	fields := map[string]string{"sign": "9A0A8659F005D6984697E2CA0A9CF3B7"}
	for k, val := range v.fields {
		fields[k] = val
	}
	if got := Sign(fields, vecKey); got != v.want {
		t.Errorf("Sign with a sign field = %s, want %s", got, v.want)
	}
	fields["sign"] = "anything else"
	if got := signSorted(sortedParams(fields), vecKey, false); got != v.want {
		t.Errorf("signSorted with a sign field = %s, want %s", got, v.want)
	}
	// "Sign" (capital S) is a different name and is signed.
	fields["Sign"] = "x"
	if got := Sign(fields, vecKey); got == v.want {
		t.Error(`a "Sign" field was skipped; only "sign" is excluded`)
	}
}

func TestVerifySign(t *testing.T) {
	t.Parallel()
	base := func() map[string]string {
		m := map[string]string{}
		for k, v := range signVectors[0].fields {
			m[k] = v
		}
		return m
	}
	const good = "9A0A8659F005D6984697E2CA0A9CF3B7"
	tests := []struct {
		name string
		edit func(map[string]string)
		want bool
	}{
		{"uppercase", func(m map[string]string) { m["sign"] = good }, true},
		{"lowercase hex accepted", func(m map[string]string) { m["sign"] = strings.ToLower(good) }, true},
		{"mixed case", func(m map[string]string) { m["sign"] = "9a0A8659f005D6984697e2CA0A9CF3b7" }, true},
		{"one hex digit changed", func(m map[string]string) { m["sign"] = "9A0A8659F005D6984697E2CA0A9CF3B8" }, false},
		{"sign of other fields", func(m map[string]string) { m["sign"] = "1E3A8D73B5A4AEE787C0F68B5DAB8520" }, false},
		{"a field changed after signing", func(m map[string]string) { m["sign"] = good; m["body"] = "test2" }, false},
		{"a field added after signing", func(m map[string]string) { m["sign"] = good; m["attach"] = "x" }, false},
		{"an empty field added is ignored", func(m map[string]string) { m["sign"] = good; m["attach"] = "" }, true},
		{"sign too short", func(m map[string]string) { m["sign"] = good[:31] }, false},
		{"sign too long", func(m map[string]string) { m["sign"] = good + "0" }, false},
		{"sign with space", func(m map[string]string) { m["sign"] = " " + good[1:] }, false},
		{"empty sign", func(m map[string]string) { m["sign"] = "" }, false},
		{"no sign", func(m map[string]string) {}, false},
		{"non-hex letters folded are not accepted", func(m map[string]string) { m["sign"] = strings.Replace(good, "A", "g", 1) }, false},
	}
	for _, tt := range tests {
		m := base()
		tt.edit(m)
		if got := VerifySign(m, vecKey); got != tt.want {
			t.Errorf("%s: VerifySign = %v, want %v", tt.name, got, tt.want)
		}
	}
	m := base()
	m["sign"] = good
	if VerifySign(m, "192006250b4c09247ec02edce69f6a2e") {
		t.Error("VerifySign accepted a sign made with another key")
	}
}

func TestSignChineseRawUTF8(t *testing.T) {
	t.Parallel()
	fields := map[string]string{"wishing": "恭喜发财", "act_name": "新年红包", "send_name": "腾讯", "total_amount": "100"}
	signTemp := "act_name=新年红包&send_name=腾讯&total_amount=100&wishing=恭喜发财&key=" + vecKey
	want := md5HexOf(signTemp, true)
	if got := Sign(fields, vecKey); got != want {
		t.Errorf("Sign = %s, want %s (MD5 over the raw UTF-8 string)", got, want)
	}
	// Neither URL-encoded nor GBK-looking variants may give the same sign.
	encoded := "act_name=" + url.QueryEscape("新年红包") + "&send_name=" + url.QueryEscape("腾讯") +
		"&total_amount=100&wishing=" + url.QueryEscape("恭喜发财") + "&key=" + vecKey
	if md5HexOf(encoded, true) == want {
		t.Fatal("test is vacuous: encoded and raw strings sign alike")
	}
}

func TestSignXMLMetacharactersRaw(t *testing.T) {
	t.Parallel()
	fields := map[string]string{"remark": `a<b>&"c"'d`, "act_name": "x]]>y"}
	want := md5HexOf(`act_name=x]]>y&remark=a<b>&"c"'d&key=`+vecKey, true)
	if got := Sign(fields, vecKey); got != want {
		t.Errorf("Sign = %s, want %s (values neither XML-escaped nor split)", got, want)
	}
}

// TestSignRiskInfoAsSent signs the official sendredpack request example
// (SPEC §2.1) whose risk_info carries %3d/%26 escapes: it is signed exactly
// as sent, not decoded.
func TestSignRiskInfoAsSent(t *testing.T) {
	t.Parallel()
	fields := map[string]string{
		"mch_billno": "0010010404201411170000046545", "mch_id": "888", "wxappid": "wxcbda96de0b165486",
		"send_name": "send_name", "re_openid": "onqOjjmM1tad-3ROpncN-yUfa6uI", "total_amount": "200", "total_num": "1",
		"wishing": "恭喜发财", "client_ip": "127.0.0.1", "act_name": "新年红包", "remark": "新年红包", "scene_id": "PRODUCT_2",
		"consume_mch_id": "10000097", "nonce_str": "50780e0cca98c8c8e814883e5caa672e",
		"risk_info": "posttime%3d123123412%26clientversion%3d234134%26mobile%3d122344545%26deviceid%3dIOS",
	}
	signTemp := "act_name=新年红包&client_ip=127.0.0.1&consume_mch_id=10000097&mch_billno=0010010404201411170000046545" +
		"&mch_id=888&nonce_str=50780e0cca98c8c8e814883e5caa672e&re_openid=onqOjjmM1tad-3ROpncN-yUfa6uI&remark=新年红包" +
		"&risk_info=posttime%3d123123412%26clientversion%3d234134%26mobile%3d122344545%26deviceid%3dIOS" +
		"&scene_id=PRODUCT_2&send_name=send_name&total_amount=200&total_num=1&wishing=恭喜发财&wxappid=wxcbda96de0b165486" +
		"&key=" + vecKey
	want := md5HexOf(signTemp, true)
	if got := Sign(fields, vecKey); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	decoded, err := url.QueryUnescape(fields["risk_info"])
	if err != nil {
		t.Fatal(err)
	}
	if md5HexOf(strings.Replace(signTemp, fields["risk_info"], decoded, 1), true) == want {
		t.Fatal("test is vacuous")
	}
}

// TestClientSignsRequestAsSent builds the sendredpack fields the way Send
// does, for a RiskInfo, and checks the sign over a string written by hand,
// that no sign_type is signed or sent, and that the encoded body verifies
// over the values as they appear in it.
func TestClientSignsRequestAsSent(t *testing.T) {
	t.Parallel()
	c := offlineClient(t, uniqueMchID(), "wxcbda96de0b165486")
	f := Packet{
		BillNo: "0010010404201411170000046545", OpenID: "onqOjjmM1tad-3ROpncN-yUfa6uI", Amount: 200,
		SendName: "send_name", Wishing: "恭喜发财", ActName: "新年红包", Remark: "新年红包", SceneID: SceneLottery,
	}
	p := c.sendParams(&f, 1, RiskInfo{PostTime: time.Unix(123123412, 0), ClientVersion: "234134", Mobile: "122344545", DeviceID: "IOS"}, "10000097")
	p = p.add("client_ip", "127.0.0.1")
	p = p.add("nonce_str", "50780e0cca98c8c8e814883e5caa672e")
	p.sort()
	const riskInfo = "posttime%3D123123412%26clientversion%3D234134%26mobile%3D122344545%26deviceid%3DIOS"
	if got := p.get("risk_info"); got != riskInfo {
		t.Fatalf("risk_info = %q, want %q", got, riskInfo)
	}
	signTemp := "act_name=新年红包&client_ip=127.0.0.1&consume_mch_id=10000097&mch_billno=0010010404201411170000046545" +
		"&mch_id=" + c.MchID() + "&nonce_str=50780e0cca98c8c8e814883e5caa672e&re_openid=onqOjjmM1tad-3ROpncN-yUfa6uI&remark=新年红包" +
		"&risk_info=" + riskInfo +
		"&scene_id=PRODUCT_2&send_name=send_name&total_amount=200&total_num=1&wishing=恭喜发财&wxappid=wxcbda96de0b165486" +
		"&key=" + vecKey
	sign := c.sign(p, false)
	if want := md5HexOf(signTemp, true); sign != want {
		t.Errorf("client sign = %s, want %s", sign, want)
	}
	for _, kv := range p {
		if strings.EqualFold(kv.k, "sign_type") || kv.k == "sign" {
			t.Errorf("request params carry %q", kv.k)
		}
	}
	body := encodeXML(nil, p, sign)
	if strings.Contains(string(body), "sign_type") {
		t.Errorf("body carries sign_type: %s", body)
	}
	r, err := decodeXML(body, false)
	if err != nil {
		t.Fatalf("decodeXML(own body): %v", err)
	}
	if !VerifySign(fieldsOf(r), vecKey) {
		t.Errorf("the body's sign does not verify over the body's values: %s", body)
	}
	if r.get("risk_info") != riskInfo {
		t.Errorf("risk_info in body = %q, want %q", r.get("risk_info"), riskInfo)
	}
}

func TestParamsSortIsByteOrder(t *testing.T) {
	t.Parallel()
	p := params{{"wxappid", "1"}, {"Z", "2"}, {"re_openid", "3"}, {"remark", "4"}, {"_a", "5"}, {"a", "6"}}
	p.sort()
	var names []string
	for _, kv := range p {
		names = append(names, kv.k)
	}
	want := slices.Clone(names)
	slices.Sort(want) // Go strings sort by bytes
	if diff := cmp.Diff([]string{"Z", "_a", "a", "re_openid", "remark", "wxappid"}, names); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("not byte order (-want +got):\n%s", diff)
	}
}
