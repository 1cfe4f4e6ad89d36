package redpack

// Validation of the mini-program and group sends.

import (
	"math"
	"strings"
	"testing"
)

func TestValidateSendMiniProgram(t *testing.T) {
	t.Parallel()
	valid := func() SendMiniProgramRequest {
		r := validSendRequest()
		return SendMiniProgramRequest{r.Packet}
	}
	tests := []struct {
		name string
		opts []Option
		edit func(*SendMiniProgramRequest)
		want []string
	}{
		{name: "valid", edit: func(r *SendMiniProgramRequest) {}},
		{name: "valid with another bill number", edit: func(r *SendMiniProgramRequest) { r.BillNo = "2334580734271081478888000026" }},
		{name: "bill number missing", edit: func(r *SendMiniProgramRequest) { r.BillNo = "" }, want: []string{"mch_billno"}},
		{name: "send_name 11 Chinese characters", edit: func(r *SendMiniProgramRequest) { r.SendName = strings.Repeat("红", 11) }, want: []string{"send_name"}},
		{name: "amount 20001 without scene", edit: func(r *SendMiniProgramRequest) { r.Amount = 20001 }, want: []string{"total_amount"}},
		{name: "amount 1 with scene", edit: func(r *SendMiniProgramRequest) { r.Amount, r.SceneID = 1, SceneVirtualGoods }},
		{name: "guard", opts: []Option{WithMaxAmount(150)}, edit: func(r *SendMiniProgramRequest) { r.Amount = 151 }, want: []string{"total_amount"}},
		{name: "every shared rule", edit: func(r *SendMiniProgramRequest) {
			r.BillNo = strings.Repeat("1", 29)
			r.OpenID = "o o"
			r.Wishing = "\xfe"
			r.ActName = "act\u2003"
			r.Remark = ""
			r.SceneID = "PRODUCT_10"
		}, want: []string{"act_name", "mch_billno", "re_openid", "remark", "scene_id", "wishing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := offlineClient(t, uniqueMchID(), "wxd27ebc41b85ce36d", tt.opts...)
			req := valid()
			tt.edit(&req)
			_, err := c.prepareSendMiniProgram(&req)
			checkValidation(t, opSendMini, err, tt.want, req.BillNo)
		})
	}
}

func TestValidateSendGroup(t *testing.T) {
	t.Parallel()
	valid := func() SendGroupRequest {
		r := validSendRequest()
		r.Amount = 300
		return SendGroupRequest{Packet: r.Packet, TotalNum: 3}
	}
	tests := []struct {
		name string
		opts []Option
		edit func(*SendGroupRequest)
		want []string
	}{
		{name: "valid minimum", edit: func(r *SendGroupRequest) {}},
		{name: "total_num 2", edit: func(r *SendGroupRequest) { r.TotalNum = 2 }, want: []string{"total_num"}},
		{name: "total_num 0", edit: func(r *SendGroupRequest) { r.TotalNum = 0 }, want: []string{"total_num"}},
		{name: "total_num negative", edit: func(r *SendGroupRequest) { r.TotalNum = -3 }, want: []string{"total_num"}},
		// Issue 8 item 12: 100·2^62 and 20000·2^62 wrap to 0 in int64, which
		// let a total of 0 pass.
		{name: "total_num 2^62 with total 0", edit: func(r *SendGroupRequest) { r.TotalNum, r.Amount = 1<<62, 0 }, want: []string{"total_num"}},
		{name: "total_num max int", edit: func(r *SendGroupRequest) { r.TotalNum, r.Amount = math.MaxInt, 1000 }, want: []string{"total_num"}},
		{name: "largest total_num whose bounds fit", edit: func(r *SendGroupRequest) {
			r.TotalNum, r.Amount = math.MaxInt64/maxGroupShareAvg, int64(math.MaxInt64/maxGroupShareAvg)*MinAmount
		}},
		{name: "total below 100 per share", edit: func(r *SendGroupRequest) { r.Amount = 299 }, want: []string{"total_amount"}},
		{name: "total 20000 per share", edit: func(r *SendGroupRequest) { r.Amount = 60000 }},
		{name: "total above 20000 per share", edit: func(r *SendGroupRequest) { r.Amount = 60001 }, want: []string{"total_amount"}},
		{name: "ten shares", edit: func(r *SendGroupRequest) { r.TotalNum, r.Amount = 10, 1000 }},
		{name: "ten shares too little", edit: func(r *SendGroupRequest) { r.TotalNum, r.Amount = 10, 999 }, want: []string{"total_amount"}},
		{name: "guard on the total", opts: []Option{WithMaxAmount(500)}, edit: func(r *SendGroupRequest) { r.Amount = 501 }, want: []string{"total_amount"}},
		{name: "guard allows its maximum", opts: []Option{WithMaxAmount(500)}, edit: func(r *SendGroupRequest) { r.Amount = 500 }},
		{name: "shared rules and total_num", edit: func(r *SendGroupRequest) {
			r.TotalNum = 1
			r.SendName = strings.Repeat("a", 33)
			r.OpenID = ""
		}, want: []string{"re_openid", "send_name", "total_num"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := offlineClient(t, uniqueMchID(), okAppID, tt.opts...)
			req := valid()
			tt.edit(&req)
			_, err := c.prepareSendGroup(&req)
			checkValidation(t, opSendGroup, err, tt.want, req.BillNo)
		})
	}
}
