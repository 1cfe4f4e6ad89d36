package redpack

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenClock is the fixed clock of the golden bodies.
var goldenClock = time.Date(2026, 2, 3, 10, 20, 30, 0, cst)

const goldenNonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"

// TestGoldenRequests compares the signed bodies the server received with
// testdata/requests/*.xml; go test -run TestGoldenRequests -update rewrites
// them. A body depends only on the request, the merchant constants, the
// fixed nonce and the fixed clock.
func TestGoldenRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(c *Client) (*prepared, error)
		check   func(t *testing.T, fields map[string]string)
	}{
		{name: "sendredpack", prepare: func(c *Client) (*prepared, error) {
			req := sendReq("1900000109202602030100000001")
			return c.prepareSend(&req)
		}},
		{name: "sendredpack_full", prepare: func(c *Client) (*prepared, error) {
			return c.prepareSend(&SendRequest{
				Packet: Packet{
					BillNo:   "1900000109202602030100000002",
					OpenID:   testOpenID,
					Amount:   30,
					SendName: "天天商城",
					Wishing:  "恭喜发财，大吉大利",
					ActName:  "新年红包",
					Remark:   "猜越多得越多]]>快来抢!",
					SceneID:  SceneLottery,
				},
				ClientIP: "192.168.1.10",
				RiskInfo: RiskInfo{
					PostTime:      time.Unix(1700000000, 0),
					ClientVersion: "234134",
					Mobile:        "86-13800138000",
					DeviceID:      "IOS",
				},
				ConsumeMchID: "10000097",
			})
		}, check: func(t *testing.T, f map[string]string) {
			want := map[string]string{
				"remark":         "猜越多得越多]]>快来抢!",
				"send_name":      "天天商城",
				"scene_id":       "PRODUCT_2",
				"consume_mch_id": "10000097",
				"risk_info":      "posttime%3D1700000000%26clientversion%3D234134%26mobile%3D86-13800138000%26deviceid%3DIOS",
			}
			for k, v := range want {
				if f[k] != v {
					t.Errorf("%s decoded as %q, want %q", k, f[k], v)
				}
			}
		}},
		{name: "sendminiprogramhb", prepare: func(c *Client) (*prepared, error) {
			return c.prepareSendMiniProgram(&SendMiniProgramRequest{Packet{
				BillNo: "1900000109202602030100000003", OpenID: testOpenID, Amount: 100,
				SendName: "小程序商家", Wishing: "恭喜发财", ActName: "扫码领红包", Remark: "扫码领取",
			}})
		}},
		{name: "sendgroupredpack", prepare: func(c *Client) (*prepared, error) {
			return c.prepareSendGroup(&SendGroupRequest{Packet: Packet{
				BillNo: "1900000109202602030100000004", OpenID: testOpenID, Amount: 600,
				SendName: "裂变商家", Wishing: "分享红包", ActName: "裂变红包", Remark: "邀请好友",
			}, TotalNum: 3})
		}},
		{name: "gethbinfo", prepare: func(c *Client) (*prepared, error) {
			return c.prepareQuery("1900000109202602030100000001")
		}, check: func(t *testing.T, f map[string]string) {
			// The string to sign, written out by hand: an independent check
			// of the algorithm (sorted, raw values, &key=, MD5, uppercase).
			const stringSignTemp = "appid=" + testAppID + "&bill_type=MCHT&mch_billno=1900000109202602030100000001" +
				"&mch_id=" + testMchID + "&nonce_str=" + goldenNonce + "&key=" + testAPIKey
			sum := md5.Sum([]byte(stringSignTemp))
			if want := strings.ToUpper(hex.EncodeToString(sum[:])); f["sign"] != want {
				t.Errorf("sign = %s, want %s", f["sign"], want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := offlineClient(t, testMchID, testAppID, WithClock(func() time.Time { return goldenClock }),
				WithNonceFunc(func() string { return goldenNonce }))
			c.sign = newSigner(testAPIKey)
			pr, err := tt.prepare(c)
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			r, err := decodeXML(pr.body, false)
			if err != nil {
				t.Fatalf("body does not decode: %v", err)
			}
			fields := fieldsOf(r)
			if !VerifySign(fields, testAPIKey) {
				t.Errorf("golden body's sign does not verify")
			}
			if tt.check != nil {
				tt.check(t, fields)
			}
			path := filepath.Join("testdata", "requests", tt.name+".xml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, pr.body, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenRequests -update to create it)", err)
			}
			if !bytes.Equal(want, pr.body) {
				t.Errorf("%s (-want +got):\n%s", path, cmp.Diff(string(want), string(pr.body)))
			}
		})
	}
}
