package redpack

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SceneID is a red packet scene (scene_id). It is optional at every amount;
// merchants on the merged merchant red packet product must leave it empty.
// Amounts outside 1–200 yuan need a scene configured in the merchant platform.
type SceneID string

// Scene values.
const (
	SceneProductPromotion SceneID = "PRODUCT_1" // product promotion
	SceneLottery          SceneID = "PRODUCT_2" // lottery / prize draw
	SceneVirtualGoods     SceneID = "PRODUCT_3" // virtual goods prize redemption
	SceneEmployeeWelfare  SceneID = "PRODUCT_4" // internal employee welfare
	SceneChannelProfit    SceneID = "PRODUCT_5" // channel profit sharing
	SceneInsuranceRebate  SceneID = "PRODUCT_6" // insurance rebate
	SceneLotteryTicket    SceneID = "PRODUCT_7" // lottery-ticket prize payout
	SceneTaxReceipt       SceneID = "PRODUCT_8" // tax-receipt scratch prize
)

func (s SceneID) valid() bool {
	return len(s) == 9 && strings.HasPrefix(string(s), "PRODUCT_") && s[8] >= '1' && s[8] <= '8'
}

// RiskInfo is the optional risk_info of a send. Non-empty items are encoded
// as the specification says (URL-encoded k=v&k=v) and signed as sent.
type RiskInfo struct {
	PostTime      time.Time // when the user triggered the send (Unix seconds)
	ClientVersion string    // version of the user's client
	Mobile        string    // country code, dash, number, no "+": "86-13800138000"
	DeviceID      string    // MAC address or device id
}

// encode returns the wire value, "" when empty; ok is false for values
// outside the documented shapes.
func (r RiskInfo) encode() (s string, ok bool) {
	var v []string
	if !r.PostTime.IsZero() {
		v = append(v, "posttime="+strconv.FormatInt(r.PostTime.Unix(), 10))
	}
	for _, kv := range [...][2]string{{"clientversion", r.ClientVersion}, {"mobile", r.Mobile}, {"deviceid", r.DeviceID}} {
		if kv[1] == "" {
			continue
		}
		for i := 0; i < len(kv[1]); i++ {
			b := kv[1][i]
			if b <= ' ' || b >= 0x7f || (kv[0] == "mobile" && !isDigit(b) && b != '-') {
				return "", false
			}
		}
		v = append(v, kv[0]+"="+url.QueryEscape(kv[1]))
	}
	if len(v) == 0 {
		return "", true
	}
	return url.QueryEscape(strings.Join(v, "&")), true
}

// Packet holds the fields every send shares. It is embedded in
// SendRequest, SendMiniProgramRequest and SendGroupRequest.
type Packet struct {
	// BillNo is the merchant bill number (mch_billno), required: at most 28
	// of [0-9A-Za-z], unique per merchant, fixed for the payment's whole
	// life. Take one from Client.NewBillNo or Client.BillNoFor and store it
	// before sending. To retry a send whose outcome is unknown, send the
	// identical request again: the same BillNo, OpenID and Amount.
	BillNo string
	// OpenID is the recipient's openid under the Client's AppID (re_openid);
	// for a group packet the seed user.
	OpenID string
	// Amount in fen: MinAmount–MaxAmount (1–200 yuan), or 1–MaxSceneAmount
	// with a SceneID configured for the merchant. For a group packet, the
	// group's total.
	Amount int64
	// SendName is the sender shown to the user, ≤ 32 bytes of UTF-8 (10
	// Chinese characters is the safe limit).
	SendName string
	// Wishing is the greeting, ≤ 128 bytes.
	Wishing string
	// ActName is the activity name, ≤ 32 bytes.
	ActName string
	// Remark, ≤ 256 bytes.
	Remark string
	// SceneID is optional; see SceneID.
	SceneID SceneID
}

// Payment is what a bill number stands for: who gets how much in how many
// shares. Client.Check and Client.Resolve judge a record against it. Take it
// from the request's Payment method, or rebuild it from your own records.
type Payment struct {
	BillNo   string
	OpenID   string
	Amount   int64 // fen; the group's total for a group packet
	TotalNum int   // 1, or the group's share count
}

// SendRequest is a normal red packet to one user of an Official Account
// (sendredpack).
type SendRequest struct {
	Packet
	// ClientIP is the calling server's IPv4; empty means the Client's default
	// (WithClientIP, else DefaultClientIP).
	ClientIP string
	// RiskInfo is optional.
	RiskInfo RiskInfo
	// ConsumeMchID is the merchant whose funds are used, for service
	// providers; optional.
	ConsumeMchID string
}

// Payment returns the payment the request stands for.
func (r SendRequest) Payment() Payment { return r.payment(1) }

func (p *Packet) payment(totalNum int) Payment {
	return Payment{BillNo: p.BillNo, OpenID: p.OpenID, Amount: p.Amount, TotalNum: totalNum}
}

// SendResult is a red packet WeChat Pay accepted.
type SendResult struct {
	BillNo     string    // mch_billno
	SendListID string    // WeChat's red packet id (send_listid)
	OpenID     string    // re_openid
	Amount     int64     // total_amount, fen
	TotalNum   int       // total_num (group packets; 1 otherwise)
	SendTime   time.Time // send_time when the answer carries it (CST), else zero
	Raw        []byte    // the answer as received, for audit
}

// Send sends a normal red packet. It validates every field before anything
// leaves the process, signs once and retries per the RetryPolicy with the
// same bytes.
//
// On error, OutcomeOf(err) says what happened to the money: OutcomeRejected
// for a *ValidationError (nothing sent), OutcomeNotSent (nothing reached
// WeChat Pay), OutcomeUnknown or OutcomePending for an *UnknownOutcomeError
// (may have been paid: Check, Resolve, or send the identical request again),
// and OutcomeFinal, OutcomeRejected or OutcomeConflict for an *APIError.
// Every error carries the bill number.
func (c *Client) Send(ctx context.Context, req SendRequest) (*SendResult, error) {
	pr, err := c.prepareSend(&req)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, pr)
}

// prepareSend validates a normal red packet and prepares its body.
func (c *Client) prepareSend(req *SendRequest) (*prepared, error) {
	ip := req.ClientIP
	if ip == "" {
		ip = c.opts.clientIP
	}
	ck := checker{op: opSend, bill: req.BillNo}
	ck.packet(&req.Packet)
	ck.extras(req.RiskInfo, req.ConsumeMchID)
	ck.amount(req.Amount, req.SceneID, c.opts.maxAmount)
	ck.clientIP(ip)
	if err := ck.err(); err != nil {
		return nil, err
	}
	p := c.sendParams(&req.Packet, 1, req.RiskInfo, req.ConsumeMchID)
	p = p.add("client_ip", ip)
	return c.prepare(epSend, req.BillNo, p), nil
}

// sendParams returns the fields every send endpoint signs.
func (c *Client) sendParams(f *Packet, totalNum int, ri RiskInfo, consumeMchID string) params {
	risk, _ := ri.encode()
	p := make(params, 0, 18)
	p = p.add("act_name", f.ActName)
	p = p.add("consume_mch_id", consumeMchID)
	p = p.add("mch_billno", f.BillNo)
	p = p.add("mch_id", c.mchID)
	p = p.add("re_openid", f.OpenID)
	p = p.add("remark", f.Remark)
	p = p.add("risk_info", risk)
	p = p.add("scene_id", string(f.SceneID))
	p = p.add("send_name", f.SendName)
	p = p.add("total_amount", strconv.FormatInt(f.Amount, 10))
	p = p.add("total_num", strconv.Itoa(totalNum))
	p = p.add("wishing", f.Wishing)
	p = p.add("wxappid", c.appID)
	return p
}

// send runs a prepared send and reads the success answer.
func (c *Client) send(ctx context.Context, pr *prepared) (*SendResult, error) {
	r, raw, err := c.do(ctx, pr)
	if err != nil {
		return nil, err
	}
	return sendResult(r, raw, pr), nil
}

// sendResult reads a success answer. Echo fields were checked against the
// request (do); what is missing or unreadable is taken from the request.
func sendResult(r *response, raw []byte, pr *prepared) *SendResult {
	p := pr.params
	res := &SendResult{
		BillNo:     pr.billNo,
		SendListID: r.get("send_listid"),
		OpenID:     p.get("re_openid"),
		Raw:        raw,
	}
	res.Amount, _ = strconv.ParseInt(p.get("total_amount"), 10, 64)
	res.TotalNum, _ = strconv.Atoi(p.get("total_num"))
	if st := strings.TrimSpace(r.get("send_time")); st != "" {
		if t, err := time.ParseInLocation("20060102150405", st, cst); err == nil {
			res.SendTime = t
		}
	}
	return res
}

// SendMiniProgramRequest is a mini-program red packet (sendminiprogramhb):
// the shared fields only. client_ip, risk_info and consume_mch_id are not
// fields of this endpoint (an undocumented field makes WeChat Pay answer
// SIGN_ERROR). The Client must be bound to the mini-program's appid (see
// Client.ForAppID), under which OpenID was issued.
type SendMiniProgramRequest struct {
	Packet
}

// Payment returns the payment the request stands for.
func (r SendMiniProgramRequest) Payment() Payment { return r.payment(1) }

// SendMiniProgramResult is an accepted mini-program red packet. Package is
// what the mini program passes (through BizRedPacket) to
// wx.sendBizRedPacket; it is usable for about 24 hours, after which an
// unclaimed packet is refunded. It may be empty if WeChat Pay's answer lacked
// it, though the packet was paid: query it, and contact support.
type SendMiniProgramResult struct {
	SendResult
	Package string
}

// SendMiniProgram sends a mini-program red packet, claimed by the user in the
// mini program through wx.sendBizRedPacket (see BizRedPacket). It sends
// notify_way=MINI_PROGRAM_JSAPI and total_num=1, no client_ip. Errors are as
// for Send.
func (c *Client) SendMiniProgram(ctx context.Context, req SendMiniProgramRequest) (*SendMiniProgramResult, error) {
	pr, err := c.prepareSendMiniProgram(&req)
	if err != nil {
		return nil, err
	}
	r, raw, err := c.do(ctx, pr)
	if err != nil {
		return nil, err
	}
	res := &SendMiniProgramResult{SendResult: *sendResult(r, raw, pr), Package: r.get("package")}
	if res.Package == "" {
		c.opts.logger.Warn("redpack: sendminiprogramhb succeeded without package",
			"bill_no", req.BillNo, "send_listid", res.SendListID)
	}
	return res, nil
}

func (c *Client) prepareSendMiniProgram(req *SendMiniProgramRequest) (*prepared, error) {
	ck := checker{op: opSendMini, bill: req.BillNo}
	ck.packet(&req.Packet)
	ck.amount(req.Amount, req.SceneID, c.opts.maxAmount)
	if err := ck.err(); err != nil {
		return nil, err
	}
	p := c.sendParams(&req.Packet, 1, RiskInfo{}, "")
	p = p.add("notify_way", "MINI_PROGRAM_JSAPI")
	return c.prepare(epSendMini, req.BillNo, p), nil
}

// SendGroupRequest is a fission (group) red packet (sendgroupredpack): the
// shared fields, with Amount the group's total and OpenID the seed user, plus
// TotalNum. client_ip is not a field of this endpoint (sending it breaks the
// call).
//
// Deprecated: WeChat Pay switched sendgroupredpack off on 2024-06-05. It is
// kept for merchants whose account still answers it; expect an error answer
// (the fake server's retired mode answers API_METHOD_CLOSED, REJECTED) and
// use Send instead.
type SendGroupRequest struct {
	Packet
	// TotalNum is how many people can claim, the seed included; at least
	// MinGroupNum. Amount must be between MinAmount·TotalNum and
	// MaxAmount·TotalNum (1.00–200.00 yuan a share on average; WeChat Pay
	// randomises each share within 1.00–1000.00).
	TotalNum     int
	RiskInfo     RiskInfo
	ConsumeMchID string
}

// Payment returns the payment the request stands for.
func (r SendGroupRequest) Payment() Payment { return r.payment(r.TotalNum) }

// SendGroup sends a fission red packet shared among TotalNum users
// (amt_type=ALL_RAND). Errors are as for Send.
//
// Deprecated: WeChat Pay switched sendgroupredpack off on 2024-06-05; see
// SendGroupRequest.
func (c *Client) SendGroup(ctx context.Context, req SendGroupRequest) (*SendResult, error) {
	pr, err := c.prepareSendGroup(&req)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, pr)
}

func (c *Client) prepareSendGroup(req *SendGroupRequest) (*prepared, error) {
	ck := checker{op: opSendGroup, bill: req.BillNo}
	ck.packet(&req.Packet)
	ck.extras(req.RiskInfo, req.ConsumeMchID)
	ck.group(req.Amount, req.TotalNum, c.opts.maxAmount)
	if err := ck.err(); err != nil {
		return nil, err
	}
	p := c.sendParams(&req.Packet, req.TotalNum, req.RiskInfo, req.ConsumeMchID)
	p = p.add("amt_type", "ALL_RAND")
	return c.prepare(epSendGroup, req.BillNo, p), nil
}
