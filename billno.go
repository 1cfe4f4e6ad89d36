package redpack

import (
	"crypto/sha256"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bill numbers.
//
// A time-based number (Client.NewBillNo, which needs WithNodeID) is
//
//	P + yyyymmdd + NN + SSSSSSSS
//
// where P is the mch_id (at most its last 10 characters), yyyymmdd the date in
// China Standard Time, NN the node id (00–99) and SSSSSSSS the millisecond of
// that day (0–86,399,999): 28 characters for a 10-digit mch_id, all digits
// after P.
//
// A derived number (DeriveBillNo, Client.BillNoFor) is
//
//	P + L + 17 characters of [0-9A-Z]
//
// where L is an uppercase namespace letter and the 17 characters encode a
// SHA-256 over (mch_id, L, ref) in base 36.
//
// Collision analysis. A merchant's numbers need only differ from each other.
//
//  1. Time-based numbers of one process and node. Every (P, NN) pair has one
//     process-wide counter holding the last millisecond it issued. A number
//     is issued for the instant t = the wall clock's millisecond only when t
//     is later than that counter, and the counter moves to t with a
//     compare-and-swap; when the clock has not moved on, the caller waits for
//     the next millisecond. So the instants of one process are strictly
//     increasing, at most one per millisecond, and never ahead of the wall
//     clock. Date and millisecond-of-day together are a one-to-one image of
//     the instant (CST has no daylight saving time), so the numbers differ,
//     across midnight too.
//  2. A restart with the same node. The counter starts at the millisecond
//     the generator is made (NewClient), so every number of the new process
//     is later than its start. Every number of its predecessor was at most
//     the wall clock at the time it was issued, so earlier than the
//     predecessor's end. A process that starts after its predecessor ended
//     therefore repeats none of its numbers, however fast either drew them,
//     unless the wall clock was stepped back across the restart by more
//     than the time between them.
//  3. A clock stepping back within a process. The counter sees it: the
//     generator waits until the clock passes the last issued millisecond
//     again, and fails (error, no number) rather than wait longer than
//     maxClockWait.
//  4. Processes at the same time. Distinct node ids make NN differ. Two
//     processes with the same node id can issue the same number in the same
//     millisecond: that is why there is no default node id, and NewBillNo
//     fails without WithNodeID. A backend with many replicas is better
//     served by derived numbers.
//  5. Derived against time-based numbers: the character after P is a
//     letter in one and a digit in the other, so they never meet. Derived
//     numbers of distinct namespaces differ in that letter. Within one
//     namespace, distinct refs collide only if SHA-256 truncated to
//     log2(36^17) ≈ 87.9 bits does: for a billion refs the chance is below
//     n²/2^88.9 ≈ 2·10^-9. The same ref always gives the same number, which
//     is the point: a retried order can never be paid under a second number.
//
// A mch_id longer than 10 characters is cut to its last 10: P only makes
// numbers readable; uniqueness comes from the rest.

const (
	billNoMaxLen    = 28
	billNoPrefixMax = billNoMaxLen - 18 // 8 date digits + 2 node + 8 ms
	// MaxNodeID is the largest node id WithNodeID accepts.
	MaxNodeID = 99
	// maxClockWait bounds how long NewBillNo waits for a clock that stepped
	// back behind the last issued number.
	maxClockWait = 2 * time.Second
	derivedLen   = 17 // base-36 characters of a derived number
	maxRefLen    = 256
)

// cst is China Standard Time, a fixed +08:00 zone (no tzdata needed).
var cst = time.FixedZone("CST", 8*60*60)

// billClocks holds one counter per (prefix, node), process-wide, so that
// several Clients of one merchant never issue the same number.
var billClocks sync.Map // string -> *atomic.Int64

type billNoGen struct {
	prefix string
	node   string // two digits
	last   *atomic.Int64
	now    func() time.Time
}

func billNoPrefix(mchID string) string {
	if len(mchID) > billNoPrefixMax {
		return mchID[len(mchID)-billNoPrefixMax:]
	}
	return mchID
}

func newBillNoGen(mchID string, node int, now func() time.Time) *billNoGen {
	g := &billNoGen{prefix: billNoPrefix(mchID), node: string([]byte{byte('0' + node/10), byte('0' + node%10)}), now: now}
	start := new(atomic.Int64)
	start.Store(now().UnixMilli()) // see the analysis, item 2
	c, _ := billClocks.LoadOrStore(g.prefix+"/"+g.node, start)
	g.last = c.(*atomic.Int64)
	return g
}

// next returns a new bill number, waiting for the next millisecond when one
// was already issued in this one.
func (g *billNoGen) next() (string, error) {
	var deadline time.Time
	for {
		now := g.now().UnixMilli()
		last := g.last.Load()
		if now > last {
			if g.last.CompareAndSwap(last, now) {
				return g.format(now), nil
			}
			continue
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(maxClockWait)
		} else if time.Now().After(deadline) {
			return "", errors.New("redpack: NewBillNo: the clock is " + strconv.FormatInt(last-now, 10) +
				" ms behind the last bill number issued; refusing to issue one that may repeat")
		}
		time.Sleep(time.Duration(min(last-now+1, 100)) * time.Millisecond)
	}
}

func (g *billNoGen) format(ms int64) string {
	t := time.UnixMilli(ms).In(cst)
	y, mo, d := t.Date()
	dayStart := time.Date(y, mo, d, 0, 0, 0, 0, cst).UnixMilli()
	b := make([]byte, 0, billNoMaxLen)
	b = append(b, g.prefix...)
	b = appendPadded(b, int64(y), 4)
	b = appendPadded(b, int64(mo), 2)
	b = appendPadded(b, int64(d), 2)
	b = append(b, g.node...)
	b = appendPadded(b, ms-dayStart, 8)
	return string(b)
}

// appendPadded appends n in decimal, left-padded with zeros to width digits.
func appendPadded(b []byte, n int64, width int) []byte {
	s := strconv.FormatInt(n, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// NewBillNo returns a fresh time-based bill number (format and collision
// analysis in billno.go). Store it with the payment before sending. It fails
// unless the Client was given WithNodeID, and when the clock stepped back
// behind the last number issued by more than it is willing to wait. It issues
// at most one number per millisecond per node and waits for the next
// millisecond rather than run ahead of the wall clock.
func (c *Client) NewBillNo() (string, error) {
	if c.billNos == nil {
		return "", errors.New("redpack: NewBillNo: no node id: give WithNodeID(n), distinct for every process drawing numbers for this merchant, or derive numbers from your records with BillNoFor")
	}
	return c.billNos.next()
}

// BillNoFor derives the bill number of ref, an identifier from the
// merchant's own records (an order id, a database sequence value), in
// namespace 'R': DeriveBillNo(c.MchID(), 'R', ref). The same ref always
// gives the same number, in every process, so a payment retried from its
// record can never go out under a second number.
func (c *Client) BillNoFor(ref string) (string, error) {
	return DeriveBillNo(c.mchID, 'R', ref)
}

// DeriveBillNo returns the deterministic bill number of ref in namespace
// ('A'–'Z'): the mch_id (at most its last 10 characters), the namespace
// letter and 17 base-36 characters of SHA-256 over mch_id, namespace and ref.
// It can never equal a time-based number (NewBillNo) of the same merchant.
// ref is 1 to 256 bytes. Namespace 'R' is BillNoFor's; 'C' is reserved for
// package campaign.
func DeriveBillNo(mchID string, namespace byte, ref string) (string, error) {
	switch {
	case !validMchID(mchID):
		return "", errors.New("redpack: DeriveBillNo: mch_id must be 1 to 32 digits")
	case namespace < 'A' || namespace > 'Z':
		return "", errors.New("redpack: DeriveBillNo: namespace must be a letter 'A' to 'Z'")
	case ref == "" || len(ref) > maxRefLen:
		return "", errors.New("redpack: DeriveBillNo: ref must be 1 to " + strconv.Itoa(maxRefLen) + " bytes")
	}
	// mch_id is digits and the namespace one byte, so this input is
	// unambiguous.
	sum := sha256.Sum256([]byte("redpack bill number v1\x00" + mchID + "\x00" + string(namespace) + ref))
	n := new(big.Int).SetBytes(sum[:])
	n.Mod(n, derivedSpace)
	digits := strings.ToUpper(n.Text(36))
	return billNoPrefix(mchID) + string(namespace) + strings.Repeat("0", derivedLen-len(digits)) + digits, nil
}

// derivedSpace is 36^17, the number of distinct derived suffixes.
var derivedSpace = new(big.Int).Exp(big.NewInt(36), big.NewInt(derivedLen), nil)
