package redpacktest

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redpack-go/redpack"
)

// cst is China Standard Time: daily limits and the times in answers use it.
var cst = time.FixedZone("CST", 8*60*60)

// Packet kinds.
const (
	KindNormal = "NORMAL" // sendredpack
	KindGroup  = "GROUP"  // sendgroupredpack
	KindMini   = "MINI"   // sendminiprogramhb
)

// Packet is a red packet in the Server's ledger.
type Packet struct {
	BillNo     string
	Kind       string // KindNormal, KindGroup or KindMini
	OpenID     string // re_openid (the seed user of a group packet)
	AppID      string // wxappid it was sent under
	Amount     int64  // total_amount, fen
	TotalNum   int
	SendListID string
	// Status is the status gethbinfo would report now.
	Status redpack.Status
	// SentAt is when the send was accepted (server clock).
	SentAt time.Time
	// Receivers are the claims so far (hblist).
	Receivers []redpack.Receiver
	// Package is the package of a mini-program packet.
	Package string
	// Reason is the failure (err_code) of a FAILED bill.
	Reason string
}

// bill is the ledger entry of one mch_billno that was processed (paid,
// pending or failed finally). Requests refused before processing leave no
// bill.
type bill struct {
	no, kind, openID, appID string
	amount                  int64
	num                     int
	listID                  string
	acceptedAt              time.Time
	sendName, wishing       string
	actName, remark         string
	pkg                     string

	pending  bool      // answered PROCESSING, not settled yet
	settleAt time.Time // when a pending bill settles
	failed   bool      // failed finally (status FAILED)
	failCode string
	failDes  string

	paid       bool // money left the balance (reserved for a pending bill)
	sentAt     time.Time
	shares     []int64 // group shares, seed first
	nextShare  int     // next share index for a non-seed claimant
	received   []redpack.Receiver
	refunded   bool
	refundTime time.Time
}

// status is the gethbinfo status at now; sweep must have run.
func (b *bill) status(now time.Time) redpack.Status {
	switch {
	case b.pending:
		return redpack.StatusSending
	case b.failed:
		return redpack.StatusFailed
	case len(b.received) > 0:
		return redpack.StatusReceived
	case b.refunded:
		return redpack.StatusRefunded
	case !now.Before(b.sentAt.Add(RefundAfter)):
		return redpack.StatusRefunding
	}
	return redpack.StatusSent
}

type userDay struct {
	openID, day string
}

type usage struct {
	count int
	fen   int64
}

// ledger is the Server's state; Server.mu guards it.
type ledger struct {
	cfg *config
	rng *rand.Rand

	bills     map[string]*bill
	paid      []*bill // in order of acceptance
	active    []*bill // bills that may still change status by time
	nextEvent time.Time
	balance   int64
	totalPaid int64
	seq       int64
	users     map[userDay]*usage
	merchant  map[string]int64 // CST day -> fen
	window    map[Endpoint][]time.Time
}

func (l *ledger) init(cfg *config) {
	l.cfg = cfg
	l.bills = make(map[string]*bill)
	l.balance = cfg.balance
	l.users = make(map[userDay]*usage)
	l.merchant = make(map[string]int64)
	l.window = make(map[Endpoint][]time.Time)
}

func day(t time.Time) string { return t.In(cst).Format("20060102") }

// sweep applies the transitions that time brings: pending bills settle,
// unclaimed packets start and finish their refund. It runs lazily, at every
// look at the ledger, and costs nothing until the next event is due.
func (l *ledger) sweep(now time.Time) {
	if !l.nextEvent.IsZero() && now.Before(l.nextEvent) {
		return
	}
	var next time.Time
	keep := l.active[:0]
	for _, b := range l.active {
		if b.pending && !now.Before(b.settleAt) {
			l.settle(b, b.settleAt)
		}
		var at time.Time
		switch {
		case b.pending:
			at = b.settleAt
		case b.failed || b.refunded || len(b.received) > 0:
			continue // final by time
		default:
			refundAt := b.sentAt.Add(RefundAfter + RefundDuration)
			if !now.Before(refundAt) {
				b.refunded = true
				b.refundTime = refundAt
				l.balance += b.amount
				continue
			}
			at = b.sentAt.Add(RefundAfter)
			if !now.Before(at) {
				at = refundAt
			}
		}
		keep = append(keep, b)
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	clear(l.active[len(keep):])
	l.active = keep
	l.nextEvent = next
}

func (l *ledger) settle(b *bill, at time.Time) {
	b.pending = false
	if !b.failed {
		b.sentAt = at
	}
}

// settleAll settles every pending bill at now.
func (l *ledger) settleAll(now time.Time) {
	for _, b := range l.active {
		if b.pending {
			l.settle(b, now)
		}
	}
	l.nextEvent = time.Time{}
	l.sweep(now)
}

func (l *ledger) track(b *bill) {
	l.active = append(l.active, b)
	l.nextEvent = time.Time{} // recompute at the next sweep
}

// limitFailure returns the err_code and text that refuse paying amount to
// openID at now, or "" when it may be paid.
func (l *ledger) limitFailure(openID string, amount int64, now time.Time) (code, des string) {
	d := day(now)
	u := l.users[userDay{openID, d}]
	if u == nil {
		u = &usage{}
	}
	switch {
	case l.cfg.userNum > 0 && u.count+1 > l.cfg.userNum:
		return "SENDNUM_LIMIT", "该用户今日操作次数超过限制,如有需要请登录微信支付商户平台更改API安全配置"
	case l.cfg.userFen > 0 && u.fen+amount > l.cfg.userFen:
		return "RCVDAMOUNT_LIMIT", "该用户今日领取红包金额超过限制"
	case l.cfg.merchantDaily > 0 && l.merchant[d]+amount > l.cfg.merchantDaily:
		return "SENDAMOUNT_LIMIT", "商户今日发放金额超过限制"
	case l.balance < amount:
		return "NOTENOUGH", "帐号余额不足，请到商户平台充值后再重试"
	}
	return "", ""
}

// pay takes amount from the balance and counts it against the limits.
func (l *ledger) pay(b *bill, now time.Time) {
	d := day(now)
	k := userDay{b.openID, d}
	u := l.users[k]
	if u == nil {
		u = &usage{}
		l.users[k] = u
	}
	u.count++
	u.fen += b.amount
	l.merchant[d] += b.amount
	l.balance -= b.amount
	l.totalPaid += b.amount
	b.paid = true
	l.paid = append(l.paid, b)
}

// rateLimited reports whether op is over the rate in the sliding window
// ending at now, and counts the request when it is not.
func (l *ledger) rateLimited(op Endpoint, now time.Time) bool {
	if l.cfg.freq <= 0 {
		return false
	}
	w := l.window[op]
	cut := now.Add(-time.Second)
	i := 0
	for i < len(w) && !w[i].After(cut) {
		i++
	}
	w = w[i:]
	if len(w) >= l.cfg.freq {
		l.window[op] = w
		return true
	}
	l.window[op] = append(w, now)
	return false
}

// newListID returns a fresh WeChat-style red packet id (30 digits).
func (l *ledger) newListID(now time.Time) string {
	l.seq++
	return fmt.Sprintf("1000041701%s%012d", day(now), l.seq)
}

// miniPackage builds the package of a mini-program packet, derived from the
// bill so that a re-entrant answer repeats it.
func miniPackage(mchID, appID, billNo, listID string) string {
	a := sha256.Sum256([]byte("sendid/" + mchID + "/" + billNo + "/" + listID))
	b := sha512.Sum512([]byte("sign/" + mchID + "/" + billNo + "/" + listID))
	return "sendid=" + hex.EncodeToString(a[:]) + "&ver=8&sign=" + hex.EncodeToString(b[:]) +
		"&mchid=" + mchID + "&appid=" + appID
}

// Group shares: 1.00–1000.00 yuan each (SPEC §2.2).
const (
	minShare = 100
	maxShare = 100_000
)

// splitGroup divides total fen into num random shares (ALL_RAND), each
// within minShare..maxShare. The caller checked total ≤ 20000·num.
func (l *ledger) splitGroup(total int64, num int) []int64 {
	shares := make([]int64, num)
	rest := total - int64(num)*minShare
	for i := range shares {
		shares[i] = minShare
	}
	// Hand out the rest in random chunks to random shares with room.
	for rest > 0 {
		i := l.rng.IntN(num)
		room := maxShare - shares[i]
		if room == 0 {
			continue
		}
		chunk := min(rest, room, 1+l.rng.Int64N(max(rest/int64(num), 1)*2))
		shares[i] += chunk
		rest -= chunk
	}
	return shares
}

// toPacket copies b for callers; sweep must have run.
func (b *bill) toPacket(now time.Time) Packet {
	p := Packet{
		BillNo:     b.no,
		Kind:       b.kind,
		OpenID:     b.openID,
		AppID:      b.appID,
		Amount:     b.amount,
		TotalNum:   b.num,
		SendListID: b.listID,
		Status:     b.status(now),
		SentAt:     b.acceptedAt,
		Receivers:  append([]redpack.Receiver(nil), b.received...),
		Package:    b.pkg,
	}
	if b.failed {
		p.Reason = b.failCode
		p.SendListID = ""
	}
	return p
}

// Packets returns every packet paid, in order of acceptance: money that
// left the balance, including packets accepted with PROCESSING and not yet
// settled (their amount is reserved). Finally failed bills are not
// included; see Packet.
func (s *Server) Packets() []Packet {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	now := s.now()
	s.st.sweep(now)
	out := make([]Packet, len(s.st.paid))
	for i, b := range s.st.paid {
		out[i] = b.toPacket(now)
	}
	return out
}

// Packet returns the ledger entry of billNo: a paid or pending packet, or a
// bill that failed finally (Status FAILED, Reason its err_code). Bill
// numbers only ever refused before processing (SIGN_ERROR, PARAM_ERROR...)
// have none.
func (s *Server) Packet(billNo string) (Packet, bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	b := s.st.bills[billNo]
	if b == nil {
		return Packet{}, false
	}
	now := s.now()
	s.st.sweep(now)
	return b.toPacket(now), true
}

// Balance returns the merchant's balance in fen: the initial balance, less
// every amount paid, plus the amounts of refunded (REFUND) packets.
func (s *Server) Balance() int64 {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.sweep(s.now())
	return s.st.balance
}

// TopUp adds fen to the merchant's balance, as a recharge in the merchant
// platform does: sends that met NOTENOUGH can pay after it (under new bill
// numbers: a bill that met NOTENOUGH is dead, SEND_FAILED). fen must be
// positive.
func (s *Server) TopUp(fen int64) error {
	if fen <= 0 {
		return errors.New("redpacktest: TopUp needs a positive amount in fen")
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.balance += fen
	return nil
}

// TotalPaid returns the sum in fen of every packet paid (Packets), refunds
// not deducted.
func (s *Server) TotalPaid() int64 {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.totalPaid
}

// Settle settles every PROCESSING packet now, as if the processing delay
// had passed.
func (s *Server) Settle() {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.settleAll(s.now())
}

// ErrNotClaimable is returned by Receive and ReceiveGroupShare for a packet
// that cannot be claimed (unknown, not settled, failed, already claimed,
// refunding or refunded, or a group without unclaimed shares).
var ErrNotClaimable = errors.New("redpacktest: packet cannot be claimed")

// Receive simulates the recipient opening the packet at the server clock:
// SENT becomes RECEIVED and gethbinfo lists the claim. For a group packet
// the seed user claims the first share; see ReceiveGroupShare for the
// others.
func (s *Server) Receive(billNo string) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	b := s.st.bills[billNo]
	if b == nil {
		return fmt.Errorf("%w: %s unknown", ErrNotClaimable, billNo)
	}
	return s.st.claim(s.now(), b, b.openID)
}

// ReceiveGroupShare simulates openID claiming the next share of the group
// packet billNo. The seed's claim (Receive) need not come first.
func (s *Server) ReceiveGroupShare(billNo, openID string) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	b := s.st.bills[billNo]
	if b == nil || b.kind != KindGroup {
		return fmt.Errorf("%w: %s is not a group packet", ErrNotClaimable, billNo)
	}
	return s.st.claim(s.now(), b, openID)
}

func (l *ledger) claim(now time.Time, b *bill, openID string) error {
	l.sweep(now)
	status := b.status(now)
	if status != redpack.StatusSent && !(b.kind == KindGroup && status == redpack.StatusReceived) {
		return fmt.Errorf("%w: %s is %s", ErrNotClaimable, b.no, status)
	}
	for _, r := range b.received {
		if r.OpenID == openID {
			return fmt.Errorf("%w: %s already claimed by %s", ErrNotClaimable, b.no, openID)
		}
	}
	amount := b.amount
	if b.kind == KindGroup {
		// The seed user gets shares[0]; the others take the rest in turn.
		i := 0
		if openID != b.openID {
			b.nextShare = max(b.nextShare, 1)
			i = b.nextShare
			if i >= len(b.shares) {
				return fmt.Errorf("%w: %s has no share left", ErrNotClaimable, b.no)
			}
			b.nextShare++
		}
		amount = b.shares[i]
	}
	b.received = append(b.received, redpack.Receiver{OpenID: openID, Amount: amount, RcvTime: now.In(cst).Truncate(time.Second)})
	return nil
}
