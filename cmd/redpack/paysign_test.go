package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/redpack-go/redpack"
)

func TestPaySign(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	pkg := testPackage(s.MchID(), s.MiniAppID())
	r := runCmd(t, e, "paysign", "-package", pkg, "-json")
	wantCode(t, r, exitOK)
	var raw map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if len(raw) != 5 {
		t.Errorf("want exactly timeStamp, nonceStr, package, signType, paySign: %v", raw)
	}
	b := redpack.BizRedPacket{TimeStamp: raw["timeStamp"], NonceStr: raw["nonceStr"], Package: raw["package"], SignType: raw["signType"], PaySign: raw["paySign"]}
	if b.SignType != "MD5" || b.PaySign != paySign(s.MiniAppID(), s.APIKey(), b) || !strings.Contains(b.Package, "%26") {
		t.Errorf("parameters %+v", b)
	}
	// An explicit appid is signed instead, for a package of that appid.
	r = runCmd(t, e, "paysign", "-package", testPackage(s.MchID(), "wxother0000000001"), "-json", "-mini-appid", "wxother0000000001")
	wantCode(t, r, exitOK)
	b = decode[redpack.BizRedPacket](t, r)
	if b.PaySign != paySign("wxother0000000001", s.APIKey(), b) {
		t.Errorf("-mini-appid not used: %+v", b)
	}

	r = runCmd(t, e, "paysign", "-package", pkg)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "paySign") || !strings.Contains(r.stdout, s.MiniAppID()) {
		t.Errorf("human output\n%s", r)
	}

	// A package of another appid is refused (the usual mistake: the
	// Official Account client signing a mini-program package).
	r = runCmd(t, e, "paysign", "-package", pkg, "-mini-appid", "wxother0000000001")
	wantCode(t, r, exitUsage)
	if r.stdout != "" {
		t.Errorf("signed a package of another appid\n%s", r)
	}

	r = runCmd(t, e, "paysign")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "package") {
		t.Errorf("stderr does not name package\n%s", r)
	}
}

// testPackage is a well-formed sendminiprogramhb package (SPEC §2.4).
func testPackage(mchID, appID string) string {
	return "sendid=" + strings.Repeat("a1", 32) + "&ver=8&sign=" + strings.Repeat("b2", 64) + "&mchid=" + mchID + "&appid=" + appID
}
