package redpacktest

// This file holds the request rules: required fields, byte lengths, formats
// and amount ranges (SPEC §1.6, §2).

import (
	"net/netip"
	"strconv"
	"unicode/utf8"
)

// paramError checks the fields of a send or query; it returns the
// PARAM_ERROR text (naming the field) or "".
func (s *Server) paramError(op Endpoint, f map[string]string) (code, des string) {
	req := func(name string, max int) string {
		v := f[name]
		if v == "" {
			return "参数错误:" + name + "字段必填"
		}
		if len(v) > max {
			return "参数错误:" + name + "字段长度不能超过" + strconv.Itoa(max) + "字节"
		}
		return ""
	}
	check := func(problems ...string) string {
		for _, p := range problems {
			if p != "" {
				return p
			}
		}
		return ""
	}
	p := check(req("nonce_str", 32), req("mch_billno", 28))
	if p == "" && !isAlnum(f["mch_billno"]) {
		p = "参数错误:mch_billno只能是数字或字母,最长为28"
	}
	if p != "" {
		return "PARAM_ERROR", p
	}
	if op == EndpointQuery {
		if p = req("appid", 32); p == "" && f["appid"] != s.AppID() && f["appid"] != s.MiniAppID() {
			p = "参数错误:商户号和appid不匹配"
		}
		if p == "" {
			if p = req("bill_type", 32); p == "" && f["bill_type"] != "MCHT" {
				p = "参数错误:bill_type只能为MCHT"
			}
		}
		if p != "" {
			return "PARAM_ERROR", p
		}
		return "", ""
	}
	p = check(req("wxappid", 32), req("send_name", 32), req("re_openid", 32), req("total_amount", 12),
		req("total_num", 9), req("wishing", 128), req("act_name", 32), req("remark", 256))
	if p != "" {
		return "PARAM_ERROR", p
	}
	for _, k := range []string{"send_name", "wishing", "act_name", "remark"} {
		if !utf8.ValidString(f[k]) {
			return "PARAM_ERROR", "参数错误:" + k + "不是合法的UTF-8"
		}
	}
	if !isOpenID(f["re_openid"]) {
		return "PARAM_ERROR", "参数错误:re_openid格式错误"
	}
	if !isDigits(f["total_amount"]) {
		return "PARAM_ERROR", "参数错误:total_amount必须为整数"
	}
	if !isDigits(f["total_num"]) {
		return "PARAM_ERROR", "参数错误:total_num必须为整数"
	}
	wantApp := s.AppID()
	if op == EndpointSendMiniProgram {
		wantApp = s.MiniAppID()
	}
	if f["wxappid"] != wantApp {
		return "PARAM_ERROR", "参数错误:商户号和wxappid不匹配"
	}
	if v := f["scene_id"]; v != "" && !validScene(v) {
		return "PARAM_ERROR", "参数错误:scene_id取值错误"
	}
	if len(f["risk_info"]) > 128 {
		return "PARAM_ERROR", "参数错误:risk_info字段长度不能超过128字节"
	}
	if v := f["consume_mch_id"]; v != "" && (len(v) > 32 || !isDigits(v)) {
		return "PARAM_ERROR", "参数错误:consume_mch_id格式错误"
	}
	num := f["total_num"]
	switch op {
	case EndpointSend:
		if p = req("client_ip", 15); p != "" {
			return "PARAM_ERROR", p
		}
		if a, err := netip.ParseAddr(f["client_ip"]); err != nil || !a.Is4() || a.String() != f["client_ip"] {
			return "PARAM_ERROR", "参数错误:client_ip必须是合法的IP字符串"
		}
		if num != "1" {
			return "PARAM_ERROR", "参数错误:total_num必须为1"
		}
	case EndpointSendMiniProgram:
		if f["notify_way"] != "MINI_PROGRAM_JSAPI" {
			return "PARAM_ERROR", "参数错误:notify_way必须为MINI_PROGRAM_JSAPI"
		}
		if num != "1" {
			return "PARAM_ERROR", "参数错误:total_num必须为1"
		}
	case EndpointSendGroup:
		if f["amt_type"] != "ALL_RAND" {
			return "PARAM_ERROR", "参数错误:amt_type只能为ALL_RAND"
		}
		if n, err := strconv.Atoi(num); err != nil || n < 3 {
			return "PARAM_ERROR", "参数错误:total_num必须大于等于3"
		}
	}
	// Service-provider mode is not modelled: the fake merchant has no
	// sub-merchants and one notification appid.
	if f["sub_mch_id"] != "" {
		return "ACCEPTMODE_ERROR", "服务商模式下受理关系不存在"
	}
	if v := f["msgappid"]; v != "" && v != s.AppID() {
		return "MSGAPPID_ERROR", "msgappid与主商户号或子商户号绑定关系不存在"
	}
	return "", ""
}

func validScene(v string) bool {
	return len(v) == 9 && v[:8] == "PRODUCT_" && v[8] >= '1' && v[8] <= '8'
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isOpenID(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(s[i:i+1]) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

var kinds = map[Endpoint]string{EndpointSend: KindNormal, EndpointSendGroup: KindGroup, EndpointSendMiniProgram: KindMini}

// moneyLimit returns the MONEY_LIMIT text for an amount outside the range,
// or "".
func moneyLimit(op Endpoint, amount int64, num int, scene string) string {
	if op == EndpointSendGroup {
		if amount < 100*int64(num) || amount > 20000*int64(num) {
			return "每个红包的平均金额必须在1.00元到200.00元之间"
		}
		return ""
	}
	lo, hi := int64(100), int64(20000)
	if scene != "" {
		lo, hi = 1, 499900
	}
	if amount < lo || amount > hi {
		if scene == "" {
			return "发放金额必须在1.00元到200.00元之间,其他金额请设置场景"
		}
		return "发放金额超出场景允许的范围"
	}
	return ""
}
