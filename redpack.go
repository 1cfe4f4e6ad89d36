package redpack

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is WeChat Pay's API host.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// Config is a merchant's identity and certificate. Give the certificate as
// PKCS12 (apiclient_cert.p12) or as CertPEM plus KeyPEM (apiclient_cert.pem,
// apiclient_key.pem); see LoadPKCS12File and LoadPEMFiles.
//
// Config prints with the API key, the PKCS#12 password and bundle and the
// private key redacted, whatever the verb.
type Config struct {
	// MchID is the merchant ID (mch_id), digits.
	MchID string
	// AppID is the appid bound to MchID under which recipients' openids were
	// issued: an Official Account appid for Send and SendGroup, the
	// mini-program appid for SendMiniProgram. Query sends it as appid.
	AppID string
	// APIKey is the API v2 key (32 characters) set under API security in
	// the merchant platform; not the APIv3 key.
	APIKey string

	// PKCS12 is the merchant certificate bundle; PKCS12Password its
	// password, MchID when empty.
	PKCS12         []byte
	PKCS12Password string
	// CertPEM and KeyPEM are the certificate and its private key in PEM.
	CertPEM, KeyPEM []byte

	// BaseURL defaults to DefaultBaseURL. It must be https, except for
	// loopback hosts. The backup host https://api2.mch.weixin.qq.com may be
	// used by a second Client for manual failover with the same bill numbers.
	BaseURL string
	// RootCAs verifies the server; nil means the system roots.
	RootCAs *x509.CertPool
}

const redacted = "[redacted]"

// String returns the Config with every secret redacted.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("redpack.Config{MchID:")
	b.WriteString(strconv.Quote(c.MchID))
	b.WriteString(" AppID:")
	b.WriteString(strconv.Quote(c.AppID))
	b.WriteString(" APIKey:")
	b.WriteString(redactedIf(c.APIKey != ""))
	b.WriteString(" PKCS12:")
	b.WriteString(redactedIf(len(c.PKCS12) > 0))
	b.WriteString(" PKCS12Password:")
	b.WriteString(redactedIf(c.PKCS12Password != ""))
	b.WriteString(" CertPEM:")
	b.WriteString(strconv.Itoa(len(c.CertPEM)))
	b.WriteString(" bytes KeyPEM:")
	b.WriteString(redactedIf(len(c.KeyPEM) > 0))
	b.WriteString(" BaseURL:")
	b.WriteString(strconv.Quote(c.BaseURL))
	b.WriteString("}")
	return b.String()
}

func redactedIf(set bool) string {
	if set {
		return redacted
	}
	return `""`
}

// GoString is String: %#v never shows a secret either.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb, so that no fmt verb can reach the
// secrets.
func (c Config) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// Client sends and queries red packets for one merchant and one appid. Build
// it once with NewClient and share it: it is safe for concurrent use, and its
// parsed certificate and connection pool are reused by every call.
type Client struct {
	mchID, appID string
	baseURL      string
	sign         signer // holds the API key
	http         *http.Client
	transport    *http.Transport
	opts         options
	billNos      *billNoGen
	sem          chan struct{}
}

// NewClient checks cfg and the options, parses the merchant certificate and
// builds the transport. It fails on a missing or bad setting, a certificate
// that cannot be loaded, is expired or does not match its key; a certificate
// whose subject CN is not the mch_id is logged as a warning.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	var problems []string
	if cfg.MchID == "" || len(cfg.MchID) > maxID || strings.IndexFunc(cfg.MchID, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		problems = append(problems, "MchID must be 1 to 32 digits")
	}
	if !validAppID(cfg.AppID) {
		problems = append(problems, appIDRule)
	}
	if len(cfg.APIKey) != 32 || strings.IndexFunc(cfg.APIKey, func(r rune) bool { return r > 127 || !isAlnum(byte(r)) }) >= 0 {
		// Describe, never quote, the key.
		problems = append(problems, "APIKey must be the 32-character API v2 key of [0-9A-Za-z] (got "+strconv.Itoa(len(cfg.APIKey))+" characters)")
	}
	if len(problems) > 0 {
		return nil, errors.New("redpack: NewClient: " + strings.Join(problems, "; "))
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	base, err := checkBaseURL(base)
	if err != nil {
		return nil, err
	}
	cert, err := loadCertificate(&cfg, o.now())
	if err != nil {
		return nil, err
	}
	if cn := cert.Leaf.Subject.CommonName; cn != cfg.MchID {
		o.logger.Warn("redpack: merchant certificate subject CN is not the mch_id; is it this merchant's certificate?",
			slog.String("cn", cn), slog.String("mch_id", cfg.MchID))
	}
	proxy, err := proxyFor(base)
	if err != nil {
		return nil, err
	}
	tr := newTransport(cert, cfg.RootCAs, o.maxConns, proxy)
	c := &Client{
		mchID:     cfg.MchID,
		appID:     cfg.AppID,
		baseURL:   base,
		sign:      newSigner(cfg.APIKey),
		transport: tr,
		http:      &http.Client{Transport: tr, CheckRedirect: noRedirect},
		opts:      o,
		billNos:   newBillNoGen(cfg.MchID, o.node, o.now),
	}
	if o.concurrency > 0 {
		c.sem = make(chan struct{}, o.concurrency)
	}
	return c, nil
}

// ForAppID returns a Client for another appid bound to the same merchant
// (typically the mini-program appid, for SendMiniProgram and its queries).
// It shares everything else with c: the parsed certificate, the connection
// pool, the signer, the bill-number generator, the retry policy and the rate
// limiter and concurrency cap, which then count both appids' calls together,
// as WeChat Pay's per-merchant quota does. It costs one small allocation.
func (c *Client) ForAppID(appID string) (*Client, error) {
	if !validAppID(appID) {
		return nil, errors.New("redpack: ForAppID: " + appIDRule)
	}
	d := *c
	d.appID = appID
	return &d, nil
}

const appIDRule = "AppID must be 1 to 32 characters of [0-9A-Za-z_-]"

func validAppID(s string) bool {
	return s != "" && len(s) <= maxID && strings.IndexFunc(s, func(r rune) bool { return r > 127 || !isOpenIDByte(byte(r)) }) < 0
}

// MchID returns the merchant ID the Client sends for.
func (c *Client) MchID() string { return c.mchID }

// AppID returns the appid the Client is bound to.
func (c *Client) AppID() string { return c.appID }

// NewBillNo returns a fresh bill number from the Client's generator. Send
// fills an empty BillNo the same way; call NewBillNo to store the number
// before sending (write-ahead bookkeeping).
func (c *Client) NewBillNo() string { return c.billNos.next() }

// CloseIdleConnections closes the idle connections of the pool. A Client
// needs no other clean-up; it stays usable.
func (c *Client) CloseIdleConnections() { c.transport.CloseIdleConnections() }

// String describes the Client without secrets.
func (c *Client) String() string {
	return "redpack.Client{MchID:" + strconv.Quote(c.mchID) + " AppID:" + strconv.Quote(c.appID) +
		" BaseURL:" + strconv.Quote(c.baseURL) + "}"
}

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

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

// sendFields are the fields every send endpoint shares.
type sendFields struct {
	BillNo       string
	OpenID       string
	Amount       int64
	SendName     string
	Wishing      string
	ActName      string
	Remark       string
	SceneID      SceneID
	RiskInfo     RiskInfo
	ConsumeMchID string
}

// SendRequest is a normal red packet to one user of an Official Account
// (sendredpack).
type SendRequest struct {
	// BillNo is the merchant bill number (mch_billno), ≤ 28 of [0-9A-Za-z],
	// unique per merchant. Leave it empty to have one generated; to retry a
	// send whose outcome is unknown, send again with the same BillNo and the
	// same OpenID and Amount.
	BillNo string
	// OpenID is the recipient's openid under the Client's AppID (re_openid).
	OpenID string
	// Amount in fen: MinAmount–MaxAmount (1–200 yuan), or 1–MaxSceneAmount
	// with a SceneID configured for the merchant.
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
	// ClientIP is the calling server's IPv4; empty means the Client's default
	// (WithClientIP, else DefaultClientIP).
	ClientIP string
	// SceneID is optional; see SceneID.
	SceneID SceneID
	// RiskInfo is optional.
	RiskInfo RiskInfo
	// ConsumeMchID is the merchant whose funds are used, for service
	// providers; optional.
	ConsumeMchID string
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

// endpoint is one API path and its op name.
type endpoint struct {
	op, path string
}

const (
	opSend      = "sendredpack"
	opSendGroup = "sendgroupredpack"
	opSendMini  = "sendminiprogramhb"
	opQuery     = "gethbinfo"
)

var (
	epSend      = endpoint{opSend, "/mmpaymkttransfers/sendredpack"}
	epSendGroup = endpoint{opSendGroup, "/mmpaymkttransfers/sendgroupredpack"}
	epSendMini  = endpoint{opSendMini, "/mmpaymkttransfers/sendminiprogramhb"}
	epQuery     = endpoint{opQuery, "/mmpaymkttransfers/gethbinfo"}
)

// Send sends a normal red packet. It validates every field before anything
// leaves the process, fills BillNo when empty, signs once and retries per the
// RetryPolicy with the same bytes.
//
// On error, use Outcome(err) or errors.Is: ErrInvalidRequest (nothing sent),
// ErrNotSent (nothing reached WeChat Pay), ErrOutcomeUnknown (may have been
// paid: query or resend with the same bill number), or an *APIError of class
// FINAL or REJECTED. Every error after validation carries the bill number.
func (c *Client) Send(ctx context.Context, req SendRequest) (*SendResult, error) {
	f, ip, err := c.checkSend(&req)
	if err != nil {
		return nil, err
	}
	p := c.sendParams(&f, 1)
	p = p.add("client_ip", ip)
	return c.send(ctx, epSend, f.BillNo, p)
}

// checkSend validates a normal red packet and returns its shared fields and
// the client_ip to send.
func (c *Client) checkSend(req *SendRequest) (sendFields, string, error) {
	f := sendFields{req.BillNo, req.OpenID, req.Amount, req.SendName, req.Wishing, req.ActName,
		req.Remark, req.SceneID, req.RiskInfo, req.ConsumeMchID}
	ip := req.ClientIP
	if ip == "" {
		ip = c.opts.clientIP
	}
	ck := checker{op: opSend}
	ck.common(&f)
	ck.amount(f.Amount, f.SceneID, c.opts.maxAmount)
	ck.clientIP(ip)
	return f, ip, ck.err()
}

// sendParams fills the bill number when empty and returns the fields every
// send endpoint signs.
func (c *Client) sendParams(f *sendFields, totalNum int) params {
	if f.BillNo == "" {
		f.BillNo = c.billNos.next()
	}
	ri, _ := f.RiskInfo.encode()
	// Added in name order, so that sorting after the endpoint's own fields
	// is about one pass.
	p := make(params, 0, 18)
	p = p.add("act_name", f.ActName)
	p = p.add("consume_mch_id", f.ConsumeMchID)
	p = p.add("mch_billno", f.BillNo)
	p = p.add("mch_id", c.mchID)
	p = p.add("re_openid", f.OpenID)
	p = p.add("remark", f.Remark)
	p = p.add("risk_info", ri)
	p = p.add("scene_id", string(f.SceneID))
	p = p.add("send_name", f.SendName)
	p = p.add("total_amount", strconv.FormatInt(f.Amount, 10))
	p = p.add("total_num", strconv.Itoa(totalNum))
	p = p.add("wishing", f.Wishing)
	p = p.add("wxappid", c.appID)
	return p
}

// send runs the pipeline for a send endpoint and reads the success answer.
func (c *Client) send(ctx context.Context, ep endpoint, billNo string, p params) (*SendResult, error) {
	r, raw, err := c.call(ctx, ep, billNo, p)
	if err != nil {
		return nil, err
	}
	return sendResult(r, raw, billNo, p), nil
}

// sendResult reads a success answer. Echo fields are parsed leniently: what
// is missing or unreadable is taken from the request (the codes decide
// success; the money went out).
func sendResult(r *response, raw []byte, billNo string, p params) *SendResult {
	res := &SendResult{
		BillNo:     billNo,
		SendListID: r.get("send_listid"),
		OpenID:     r.get("re_openid"),
		Raw:        raw,
	}
	if res.OpenID == "" {
		res.OpenID = p.get("re_openid")
	}
	if n, ok := intField(r.get("total_amount")); ok && n > 0 {
		res.Amount = n
	} else {
		res.Amount, _ = strconv.ParseInt(p.get("total_amount"), 10, 64)
	}
	if n, ok := intField(r.get("total_num")); ok && n > 0 {
		res.TotalNum = int(n)
	} else {
		res.TotalNum, _ = strconv.Atoi(p.get("total_num"))
	}
	if st := strings.TrimSpace(r.get("send_time")); st != "" {
		if t, err := time.ParseInLocation("20060102150405", st, cst); err == nil {
			res.SendTime = t
		}
	}
	return res
}

// Status is a red packet's state in gethbinfo. It prints as its wire value.
type Status string

// Status values (the spelling RFUND_ING is the server's).
const (
	StatusSending   Status = "SENDING"   // being sent; not final, may still become FAILED
	StatusSent      Status = "SENT"      // sent, waiting to be claimed
	StatusFailed    Status = "FAILED"    // send failed: nothing paid; a new bill number is needed
	StatusReceived  Status = "RECEIVED"  // claimed
	StatusRefunding Status = "RFUND_ING" // unclaimed after 24 h, refund in progress
	StatusRefunded  Status = "REFUND"    // unclaimed, refunded
)

// Final reports whether the status can no longer change.
func (s Status) Final() bool {
	return s == StatusFailed || s == StatusReceived || s == StatusRefunded
}

// Outcome says what the status means for the send: OutcomeOK when the
// packet was sent (SENT, RECEIVED, RFUND_ING, REFUND), OutcomeFinal when it
// failed, OutcomePending while SENDING, OutcomeUnknown for any other value.
func (s Status) Outcome() OutcomeClass {
	switch s {
	case StatusSent, StatusReceived, StatusRefunding, StatusRefunded:
		return OutcomeOK
	case StatusFailed:
		return OutcomeFinal
	case StatusSending:
		return OutcomePending
	}
	return OutcomeUnknown
}

// SendType is how a red packet was sent: "API", "UPLOAD" or "ACTIVITY".
type SendType string

// HBType is a red packet's kind: "NORMAL" or "GROUP".
type HBType string

// HBType values.
const (
	HBTypeNormal HBType = "NORMAL"
	HBTypeGroup  HBType = "GROUP"
)

// Record is a red packet as gethbinfo reports it. Times are China Standard
// Time; a time the answer does not carry, or carries in another layout, is
// zero.
type Record struct {
	BillNo       string
	DetailID     string // WeChat's red packet id (as send_listid)
	Status       Status
	SendType     SendType
	HBType       HBType
	TotalNum     int
	TotalAmount  int64 // fen
	Reason       string
	SendTime     time.Time
	RefundTime   time.Time
	RefundAmount int64 // fen
	Wishing      string
	Remark       string
	ActName      string
	Receivers    []Receiver // one per claim (hblist)
	Raw          []byte     // the answer as received
}

// Receiver is one claim of a red packet.
type Receiver struct {
	OpenID  string
	Amount  int64     // fen
	RcvTime time.Time // zero when the answer omits it
}

const queryTimeLayout = "2006-01-02 15:04:05"

func parseCST(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation(queryTimeLayout, s, cst)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Query returns the record of billNo (gethbinfo; the last 30 days only).
// A NOT_FOUND answer is not proof of failure: it is returned as an
// *UnknownOutcomeError (the send may still be in flight); wait and query
// again, or resend with the same bill number. See Resolve.
func (c *Client) Query(ctx context.Context, billNo string) (*Record, error) {
	ck := checker{op: opQuery}
	ck.billNo(billNo, true)
	if err := ck.err(); err != nil {
		return nil, err
	}
	p := make(params, 0, 6)
	p = p.add("mch_billno", billNo)
	p = p.add("mch_id", c.mchID)
	p = p.add("appid", c.appID)
	p = p.add("bill_type", "MCHT")
	r, raw, err := c.call(ctx, epQuery, billNo, p)
	if err != nil {
		return nil, err
	}
	return recordFrom(r, raw, billNo)
}

// recordFrom reads a gethbinfo success answer. Amounts that are present but
// not integers make the answer undecodable (an amount we cannot read is not
// one we may trust); times are lenient.
func recordFrom(r *response, raw []byte, billNo string) (*Record, error) {
	rec := &Record{
		BillNo:   billNo,
		DetailID: r.get("detail_id"),
		Status:   Status(r.get("status")),
		SendType: SendType(r.get("send_type")),
		HBType:   HBType(r.get("hb_type")),
		Reason:   r.get("reason"),
		SendTime: parseCST(r.get("send_time")),
		Wishing:  r.get("wishing"),
		Remark:   r.get("remark"),
		ActName:  r.get("act_name"),
		Raw:      raw,
	}
	rec.RefundTime = parseCST(r.get("refund_time"))
	bad := func(field string) error {
		return &UnknownOutcomeError{Op: opQuery, BillNo: billNo, Attempts: r.attempts,
			Err: newDecodeError(200, field+" is not an integer", raw)}
	}
	n, ok := intField(r.get("total_num"))
	if !ok || n < 0 || n > 1<<31-1 {
		return nil, bad("total_num")
	}
	rec.TotalNum = int(n)
	if rec.TotalAmount, ok = intField(r.get("total_amount")); !ok {
		return nil, bad("total_amount")
	}
	if rec.RefundAmount, ok = intField(r.get("refund_amount")); !ok {
		return nil, bad("refund_amount")
	}
	for _, h := range r.hbinfo {
		amt, ok := intField(h["amount"])
		if !ok {
			return nil, bad("hbinfo/amount")
		}
		rec.Receivers = append(rec.Receivers, Receiver{OpenID: h["openid"], Amount: amt, RcvTime: parseCST(h["rcv_time"])})
	}
	if rec.Status == "" {
		return nil, &UnknownOutcomeError{Op: opQuery, BillNo: billNo, Attempts: r.attempts,
			Err: newDecodeError(200, "success without status", raw)}
	}
	return rec, nil
}

// ResolveTimeout bounds Resolve when its context has no deadline.
const ResolveTimeout = 30 * time.Minute

// Resolve settles an unknown outcome: it queries billNo until the record
// says whether the red packet went out (any status but SENDING), waiting
// between queries with the Client's RetryPolicy delays (growing to MaxDelay;
// one second when the policy has no delay) while the answer is NOT_FOUND,
// SENDING or otherwise unknown. A context
// without deadline gets ResolveTimeout. WeChat Pay suggests querying a
// PROCESSING send again after about 20 minutes; size the deadline
// accordingly.
//
// On success rec.Status.Outcome() tells: OutcomeOK paid, OutcomeFinal not
// paid (send again under a new bill number if you still want to pay).
//
// When Resolve cannot tell, the send's outcome is still unknown, and the
// error always says so: it is an *UnknownOutcomeError (Outcome gives
// OutcomeUnknown) wrapping the last query error, also when the queries were
// refused (a REJECTED answer such as SIGN_ERROR stops the polling: errors.Is
// still matches its sentinel) or never reached WeChat Pay. A query problem
// never reads as "the red packet was not paid".
func (c *Client) Resolve(ctx context.Context, billNo string) (*Record, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ResolveTimeout)
		defer cancel()
	}
	var last error
	for poll := 1; ; poll++ {
		rec, err := c.Query(ctx, billNo)
		if err == nil {
			if o := rec.Status.Outcome(); o == OutcomeOK || o == OutcomeFinal {
				return rec, nil
			}
			err = errors.New("redpack: gethbinfo bill " + billNo + ": status " + strconv.Quote(string(rec.Status)))
		}
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, err
		}
		// A query that never left (context ended while waiting) says less
		// than an earlier answer: keep the earlier one.
		if last == nil || !errors.Is(err, ErrNotSent) {
			last = err
		}
		if Outcome(err) == OutcomeRejected || sleep(ctx, c.pollDelay(poll)) != nil {
			var ue *UnknownOutcomeError
			if errors.As(last, &ue) {
				ue.Attempts = poll
				return nil, ue
			}
			// Unwrap a query's *NotSentError: that the query was not sent
			// must not match ErrNotSent, which would read as "the red
			// packet was not sent".
			var ns *NotSentError
			if errors.As(last, &ns) {
				last = errors.New("redpack: gethbinfo bill " + billNo + ": the queries did not reach WeChat Pay: " + errString(ns.Err))
			}
			return nil, &UnknownOutcomeError{Op: opQuery, BillNo: billNo, Attempts: poll, Err: last}
		}
	}
}

// minPollDelay is Resolve's wait between queries when the RetryPolicy has
// none (BaseDelay 0, as in RetryPolicy{MaxAttempts: 1}): without it Resolve
// would query in a tight loop and spend the merchant's rate quota.
const minPollDelay = time.Second

func (c *Client) pollDelay(poll int) time.Duration {
	if c.opts.retry.BaseDelay == 0 {
		return minPollDelay
	}
	return c.opts.retry.delay(poll)
}

// limits waits for the rate limiter and the concurrency cap, if set. The
// returned release must be called after the attempt.
func (c *Client) limits(ctx context.Context) (release func(), err error) {
	if l := c.opts.limiter; l != nil {
		if err := l.Wait(ctx); err != nil {
			return nil, err
		}
	}
	if c.sem == nil {
		return func() {}, nil
	}
	select {
	case c.sem <- struct{}{}:
		return func() { <-c.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
