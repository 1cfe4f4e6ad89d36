package redpack

import (
	"context"
	"net/url"
	"strconv"
)

// MiniProgramSendRequest is a mini-program red packet (sendminiprogramhb):
// the SendRequest fields without ClientIP, RiskInfo and ConsumeMchID, which
// are not fields of this endpoint (an undocumented field makes WeChat Pay
// answer SIGN_ERROR). The Client must be configured with the mini-program's
// appid, under which OpenID was issued.
type MiniProgramSendRequest struct {
	BillNo   string
	OpenID   string
	Amount   int64 // fen; as SendRequest.Amount
	SendName string
	Wishing  string
	ActName  string
	Remark   string
	SceneID  SceneID
}

// MiniProgramSendResult is an accepted mini-program red packet. Package is
// what the mini program passes (through BizRedPacket) to
// wx.sendBizRedPacket; it is usable for about 24 hours, after which an
// unclaimed packet is refunded. It may be empty if WeChat Pay's answer lacked
// it, though the packet was paid: query it, and contact support.
type MiniProgramSendResult struct {
	SendResult
	Package string
}

// SendMiniProgram sends a mini-program red packet, claimed by the user in the
// mini program through wx.sendBizRedPacket (see BizRedPacket). It sends
// notify_way=MINI_PROGRAM_JSAPI and total_num=1, no client_ip. Errors are as
// for Send.
func (c *Client) SendMiniProgram(ctx context.Context, req MiniProgramSendRequest) (*MiniProgramSendResult, error) {
	f := sendFields{BillNo: req.BillNo, OpenID: req.OpenID, Amount: req.Amount, SendName: req.SendName,
		Wishing: req.Wishing, ActName: req.ActName, Remark: req.Remark, SceneID: req.SceneID}
	ck := checker{op: opSendMini}
	ck.common(&f)
	ck.amount(f.Amount, f.SceneID, c.opts.maxAmount)
	if err := ck.err(); err != nil {
		return nil, err
	}
	p := c.sendParams(&f, 1)
	p = p.add("notify_way", "MINI_PROGRAM_JSAPI")
	r, raw, err := c.call(ctx, epSendMini, f.BillNo, p)
	if err != nil {
		return nil, err
	}
	res := &MiniProgramSendResult{SendResult: *sendResult(r, raw, f.BillNo, p), Package: r.get("package")}
	if res.Package == "" {
		c.opts.logger.Warn("redpack: sendminiprogramhb succeeded without package",
			"bill_no", f.BillNo, "send_listid", res.SendListID)
	}
	return res, nil
}

// GroupSendRequest is a fission (group) red packet (sendgroupredpack): the
// SendRequest fields without ClientIP (sending it breaks the call), plus
// TotalNum.
//
// Deprecated: WeChat Pay switched sendgroupredpack off on 2024-06-05. It is
// kept for merchants whose account still answers it; expect an error answer
// (the fake server's retired mode answers API_METHOD_CLOSED, REJECTED) and
// use Send instead.
type GroupSendRequest struct {
	BillNo string
	// OpenID is the seed user, who receives the first share.
	OpenID string
	// Amount is the group's total in fen, the seed's share included:
	// between 100·TotalNum and 20000·TotalNum (1.00–200.00 yuan a share
	// on average; WeChat Pay randomises each share within 1.00–1000.00).
	Amount int64
	// TotalNum is how many people can claim, the seed included; at least
	// MinGroupNum.
	TotalNum     int
	SendName     string
	Wishing      string
	ActName      string
	Remark       string
	SceneID      SceneID
	RiskInfo     RiskInfo
	ConsumeMchID string
}

// SendGroup sends a fission red packet shared among TotalNum users
// (amt_type=ALL_RAND). Errors are as for Send.
//
// Deprecated: WeChat Pay switched sendgroupredpack off on 2024-06-05; see
// GroupSendRequest.
func (c *Client) SendGroup(ctx context.Context, req GroupSendRequest) (*SendResult, error) {
	f := sendFields{req.BillNo, req.OpenID, req.Amount, req.SendName, req.Wishing, req.ActName,
		req.Remark, req.SceneID, req.RiskInfo, req.ConsumeMchID}
	ck := checker{op: opSendGroup}
	ck.common(&f)
	ck.group(f.Amount, req.TotalNum, c.opts.maxAmount)
	if err := ck.err(); err != nil {
		return nil, err
	}
	p := c.sendParams(&f, req.TotalNum)
	p = p.add("amt_type", "ALL_RAND")
	return c.send(ctx, epSendGroup, f.BillNo, p)
}

// BizRedPacket is what the mini program passes to wx.sendBizRedPacket. Its
// JSON field names are the ones the front end needs.
type BizRedPacket struct {
	TimeStamp string `json:"timeStamp"` // Unix seconds, as a string
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`  // the package, URL-encoded
	SignType  string `json:"signType"` // always "MD5"
	PaySign   string `json:"paySign"`  // lowercase MD5 hex
}

// maxPackage bounds the package BizRedPacket accepts. A real one is about
// 250 bytes; the front end's String(256) limit cannot apply to the
// URL-encoded form, which is longer, so the bound is generous.
const maxPackage = 1024

// BizRedPacket builds the parameters of wx.sendBizRedPacket for pkg, the
// Package of a MiniProgramSendResult. paySign is the MD5 (lowercase hex) of
// appId, nonceStr, package (URL-encoded, as passed to the call) and
// timeStamp, signed with the API key; signType is not signed. The timestamp
// and nonce come from the Client's clock and nonce function.
func (c *Client) BizRedPacket(pkg string) (BizRedPacket, error) {
	if pkg == "" {
		return BizRedPacket{}, &ValidationError{Op: "sendBizRedPacket", Fields: []FieldError{{"package", "required"}}}
	}
	if len(pkg) > maxPackage {
		return BizRedPacket{}, &ValidationError{Op: "sendBizRedPacket", Fields: []FieldError{{"package", "longer than " + strconv.Itoa(maxPackage) + " bytes"}}}
	}
	b := BizRedPacket{
		TimeStamp: strconv.FormatInt(c.opts.now().Unix(), 10),
		NonceStr:  c.opts.nonce(),
		Package:   url.QueryEscape(pkg),
		SignType:  "MD5",
	}
	// Already in byte order: appId < nonceStr < package < timeStamp.
	b.PaySign = c.sign(params{{"appId", c.appID}, {"nonceStr", b.NonceStr}, {"package", b.Package}, {"timeStamp", b.TimeStamp}}, true)
	return b, nil
}
