package redpack_test

// What goes on the wire, and what never does.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redpack-go/redpack"
	rt "github.com/redpack-go/redpack/redpacktest"
)

// TestRequestsOnWire: each endpoint sends exactly its documented fields
// (an undocumented one makes WeChat Pay answer SIGN_ERROR), as UTF-8 XML,
// with a sign that verifies over what was received.
func TestRequestsOnWire(t *testing.T) {
	t.Parallel()
	shared := []string{"act_name", "mch_billno", "mch_id", "nonce_str", "re_openid", "remark", "send_name", "sign",
		"total_amount", "total_num", "wishing", "wxappid"}
	with := func(extra ...string) []string { return append(append([]string(nil), shared...), extra...) }
	tests := []struct {
		name string
		ep   rt.Endpoint
		call func(ctx context.Context, srv *rt.Server) error
		want []string
	}{
		{"sendredpack", rt.EndpointSend, func(ctx context.Context, srv *rt.Server) error {
			_, err := srv.NewClient().Send(ctx, sendReq("WIRE1"))
			return err
		}, with("client_ip")},
		{"sendredpack with the optional fields", rt.EndpointSend, func(ctx context.Context, srv *rt.Server) error {
			req := sendReq("WIRE2")
			req.SceneID, req.RiskInfo, req.ConsumeMchID = redpack.SceneLottery, redpack.RiskInfo{DeviceID: "IOS"}, srv.MchID()
			_, err := srv.NewClient().Send(ctx, req)
			return err
		}, with("client_ip", "consume_mch_id", "risk_info", "scene_id")},
		{"sendminiprogramhb", rt.EndpointSendMiniProgram, func(ctx context.Context, srv *rt.Server) error {
			_, err := srv.NewMiniProgramClient().SendMiniProgram(ctx, redpack.SendMiniProgramRequest{Packet: sendReq("WIRE3").Packet})
			return err
		}, with("notify_way")},
		{"sendgroupredpack", rt.EndpointSendGroup, func(ctx context.Context, srv *rt.Server) error {
			p := sendReq("WIRE4").Packet
			p.Amount = 300
			_, err := srv.NewClient().SendGroup(ctx, redpack.SendGroupRequest{Packet: p, TotalNum: 3})
			return err
		}, with("amt_type")},
		{"gethbinfo", rt.EndpointQuery, func(ctx context.Context, srv *rt.Server) error {
			_, err := srv.NewClient().Query(ctx, "WIRE5")
			return err
		}, []string{"appid", "bill_type", "mch_billno", "mch_id", "nonce_str", "sign"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			_ = tt.call(t.Context(), srv) // gethbinfo of an unknown bill is NOT_FOUND: only the request matters
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Endpoint != tt.ep || r.Header.Get("Content-Type") != "text/xml; charset=utf-8" {
				t.Errorf("%s %s (%s), Content-Type %q", r.Method, r.Path, r.Endpoint, r.Header.Get("Content-Type"))
			}
			got := make([]string, 0, len(r.Fields))
			for k := range r.Fields {
				got = append(got, k)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fields sent (-want +got):\n%s", diff)
			}
			if !redpack.VerifySign(r.Fields, srv.APIKey()) {
				t.Errorf("sign %q does not verify over the fields received", r.Fields["sign"])
			}
		})
	}
}

// TestAnswerSign: a sign on an answer is verified when present (unknown
// fields included, hex case ignored); one that does not verify makes the
// answer unknown.
func TestAnswerSign(t *testing.T) {
	t.Parallel()
	signed := func(key string, edit func(f map[string]string)) rt.Answer {
		return rt.Process().Rewrite(func(f map[string]string) {
			edit(f)
			delete(f, "sign")
			f["sign"] = redpack.Sign(f, key)
			if v, ok := f["lower"]; ok && v == "1" {
				f["sign"] = strings.ToLower(f["sign"])
			}
		})
	}
	none := func(map[string]string) {}
	tests := []struct {
		name string
		a    func(key string) rt.Answer
		ok   bool
	}{
		{"correct sign accepted", func(k string) rt.Answer { return signed(k, none) }, true},
		{"lowercase hex accepted", func(k string) rt.Answer { return signed(k, func(f map[string]string) { f["lower"] = "1" }) }, true},
		{"unknown fields are signed too", func(k string) rt.Answer {
			return signed(k, func(f map[string]string) { f["future_field"] = "x=y&z" })
		}, true},
		{"sign under another key", func(string) rt.Answer { return signed("ANOTHERKEYANOTHERKEYANOTHERKEY12", none) }, false},
		{"sign of other content", func(string) rt.Answer {
			return rt.Process().Rewrite(func(f map[string]string) { f["sign"] = strings.Repeat("A", 32) })
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			a := tt.a(srv.APIKey())
			script(t, srv, rt.EndpointSend, a, a, a)
			_, err := srv.NewClient().Send(t.Context(), sendReq("SIGNED1"))
			if tt.ok {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			var de *redpack.DecodeError
			if redpack.OutcomeOf(err) != redpack.OutcomeUnknown || !errors.As(err, &de) || !strings.Contains(de.Reason, "sign") {
				t.Errorf("err = %v; want an unknown outcome with a DecodeError about the sign", err)
			}
		})
	}
}

// TestValidationSendsNothing: every call refused by validation sends no
// byte (the fake sees no request).
func TestValidationSendsNothing(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient()
	bad := sendReq("bad-bill!")
	bad.Amount = 0
	calls := map[string]func() error{
		"Send": func() error { _, err := c.Send(t.Context(), bad); return err },
		"SendMiniProgram": func() error {
			_, err := srv.NewMiniProgramClient().SendMiniProgram(t.Context(), redpack.SendMiniProgramRequest{Packet: bad.Packet})
			return err
		},
		"SendGroup": func() error {
			_, err := c.SendGroup(t.Context(), redpack.SendGroupRequest{Packet: sendReq("G1").Packet, TotalNum: 2})
			return err
		},
		"Query": func() error { _, err := c.Query(t.Context(), ""); return err },
	}
	for name, call := range calls {
		err := call()
		var ve *redpack.ValidationError
		if !errors.As(err, &ve) || redpack.OutcomeOf(err) != redpack.OutcomeRejected {
			t.Errorf("%s: %v; want a *ValidationError (REJECTED)", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the fake got %d requests for invalid calls, want 0", n)
	}
}
