package redpack

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
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

var lowerHex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestBizRedPacketPaySign(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)
	c := offlineClient(t, "11475856", "wxd27ebc41b85ce36d",
		WithClock(func() time.Time { return clock }),
		WithNonceFunc(func() string { return "5K8264ILTKCH16CQ2502SI8ZNMTM67VS" }))

	const pkg = "sendid=242e8abd163d300019b2cae74ba8e8c06e3f0e51ab84d16b3c80decd22a5b672&ver=8" +
		"&sign=4110d649a5aef52dd6b95654ddf91ca7d5411ac159ace4e1a766b7d3967a1c3dfe1d256811445a4abda2d9cfa4a9b377a829258bd00d90313c6c346f2349fe5d" +
		"&mchid=11475856&appid=wxd27ebc41b85ce36d"
	// URL-encoded by hand: = is %3D and & is %26, uppercase escapes.
	const encPkg = "sendid%3D242e8abd163d300019b2cae74ba8e8c06e3f0e51ab84d16b3c80decd22a5b672%26ver%3D8" +
		"%26sign%3D4110d649a5aef52dd6b95654ddf91ca7d5411ac159ace4e1a766b7d3967a1c3dfe1d256811445a4abda2d9cfa4a9b377a829258bd00d90313c6c346f2349fe5d" +
		"%26mchid%3D11475856%26appid%3Dwxd27ebc41b85ce36d"
	const signed = "appId=wxd27ebc41b85ce36d&nonceStr=5K8264ILTKCH16CQ2502SI8ZNMTM67VS&package=" + encPkg +
		"&timeStamp=1795809600&key=" + vecKey
	want := BizRedPacket{
		TimeStamp: "1795809600",
		NonceStr:  "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
		Package:   encPkg,
		SignType:  "MD5",
		PaySign:   md5HexOf(signed, false),
	}
	got, err := c.BizRedPacket(pkg)
	if err != nil {
		t.Fatalf("BizRedPacket: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BizRedPacket (-want +got):\n%s", diff)
	}
	if !lowerHex32.MatchString(got.PaySign) {
		t.Errorf("paySign %q is not 32 lowercase hex digits", got.PaySign)
	}
	if strings.Contains(signed, "signType") {
		t.Fatal("reference string must not contain signType")
	}
	withSignType := "appId=wxd27ebc41b85ce36d&nonceStr=5K8264ILTKCH16CQ2502SI8ZNMTM67VS&package=" + encPkg +
		"&signType=MD5&timeStamp=1795809600&key=" + vecKey
	if got.PaySign == md5HexOf(withSignType, false) {
		t.Error("paySign covers signType; it must not")
	}
	if got.PaySign == md5HexOf(strings.Replace(signed, encPkg, pkg, 1), false) {
		t.Error("paySign was computed over the raw package; it must be the URL-encoded one")
	}

	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	wantJSON := map[string]string{
		"timeStamp": want.TimeStamp, "nonceStr": want.NonceStr, "package": want.Package, "signType": "MD5", "paySign": want.PaySign,
	}
	if diff := cmp.Diff(wantJSON, m); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

// TestBizRedPacketRefusesBadPackage is the regression test for issue 8
// item 13: only a package of the documented shape, for this Client's mch_id
// and appid, is signed.
func TestBizRedPacketRefusesBadPackage(t *testing.T) {
	t.Parallel()
	const (
		mch     = "11475856"
		mini    = "wxd27ebc41b85ce36d"
		sendid  = "242e8abd163d300019b2cae74ba8e8c06e3f0e51ab84d16b3c80decd22a5b672"
		pkgSign = "4110d649a5aef52dd6b95654ddf91ca7d5411ac159ace4e1a766b7d3967a1c3dfe1d256811445a4abda2d9cfa4a9b377a829258bd00d90313c6c346f2349fe5d"
	)
	pkg := func(sendid, ver, sign, mchid, appid string) string {
		return "sendid=" + sendid + "&ver=" + ver + "&sign=" + sign + "&mchid=" + mchid + "&appid=" + appid
	}
	miniClient := offlineClient(t, mch, mini)
	oaClient := offlineClient(t, mch, "wxcbda96de0b165486")
	tests := []struct {
		name   string
		c      *Client
		pkg    string
		reason string // "" when it must be signed
	}{
		{"valid", miniClient, pkg(sendid, "8", pkgSign, mch, mini), ""},
		{"empty", miniClient, "", "required"},
		{"Official Account client", oaClient, pkg(sendid, "8", pkgSign, mch, mini), "appid is not this Client's"},
		{"another merchant", miniClient, pkg(sendid, "8", pkgSign, "11475857", mini), "mchid is not this Client's"},
		{"short sendid", miniClient, pkg(sendid[:63], "8", pkgSign, mch, mini), "sendid"},
		{"sendid not hex", miniClient, pkg(strings.Repeat("g", 64), "8", pkgSign, mch, mini), "sendid"},
		{"short sign", miniClient, pkg(sendid, "8", pkgSign[:127], mch, mini), "sign must be"},
		{"ver not digits", miniClient, pkg(sendid, "8a", pkgSign, mch, mini), "ver"},
		{"fields out of order", miniClient, "ver=8&sendid=" + sendid + "&sign=" + pkgSign + "&mchid=" + mch + "&appid=" + mini, "must be sendid"},
		{"an extra field", miniClient, pkg(sendid, "8", pkgSign, mch, mini) + "&x=1", "must be sendid"},
		{"already URL-encoded", miniClient, url.QueryEscape(pkg(sendid, "8", pkgSign, mch, mini)), "must be sendid"},
		{"huge", miniClient, strings.Repeat("a", 4096), "longer than"},
	}
	for _, tt := range tests {
		b, err := tt.c.BizRedPacket(tt.pkg)
		if tt.reason == "" {
			if err != nil || b.PaySign == "" {
				t.Errorf("%s: BizRedPacket = %+v, %v; want it signed", tt.name, b, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || !ve.Has("package") || !strings.Contains(err.Error(), tt.reason) || b.PaySign != "" {
			t.Errorf("%s: BizRedPacket = %+v, %v; want a *ValidationError about %q", tt.name, b, err, tt.reason)
		}
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
