package redpack

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

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
