package redpack

import (
	"crypto/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Generated bill numbers: the format and the collision analysis are in the
// package documentation (doc.go, "Bill numbers").

const (
	billNoMaxLen    = 28
	billNoPrefixMax = billNoMaxLen - 18 // 8 date digits + 2 node + 8 ms
	// MaxNodeID is the largest node id WithNodeID accepts.
	MaxNodeID = 99
)

// cst is China Standard Time, a fixed +08:00 zone (no tzdata needed).
var cst = time.FixedZone("CST", 8*60*60)

// billClocks holds one logical clock per (prefix, node), process-wide, so
// that several Clients of one merchant never issue the same number.
var billClocks sync.Map // string -> *atomic.Int64

type billNoGen struct {
	prefix string
	node   [2]byte
	last   *atomic.Int64
	now    func() time.Time
	day    atomic.Pointer[billDay] // the last day formatted
}

// billDay is the formatted head (prefix + yyyymmdd + node) of one CST day.
type billDay struct {
	start, end int64 // Unix milliseconds, [start, end)
	head       string
}

func newBillNoGen(mchID string, node int, now func() time.Time) *billNoGen {
	prefix := mchID
	if len(prefix) > billNoPrefixMax {
		prefix = prefix[len(prefix)-billNoPrefixMax:]
	}
	g := &billNoGen{prefix: prefix, now: now}
	g.node[0] = byte('0' + node/10)
	g.node[1] = byte('0' + node%10)
	c, _ := billClocks.LoadOrStore(prefix+"/"+string(g.node[:]), new(atomic.Int64))
	g.last = c.(*atomic.Int64)
	return g
}

// next returns a new bill number.
func (g *billNoGen) next() string {
	now := g.now().UnixMilli()
	var ms int64
	for {
		last := g.last.Load()
		ms = max(now, last+1)
		if g.last.CompareAndSwap(last, ms) {
			break
		}
	}
	d := g.day.Load()
	if d == nil || ms < d.start || ms >= d.end {
		d = g.formatDay(ms)
		g.day.Store(d)
	}
	var buf [billNoMaxLen]byte
	b := append(buf[:0], d.head...)
	b = appendPadded(b, ms-d.start, 8)
	return string(b)
}

// formatDay formats the head of the CST day holding the instant ms.
func (g *billNoGen) formatDay(ms int64) *billDay {
	t := time.UnixMilli(ms).In(cst)
	y, mo, dd := t.Date()
	start := time.Date(y, mo, dd, 0, 0, 0, 0, cst)
	b := append([]byte(nil), g.prefix...)
	b = appendPadded(b, int64(y), 4)
	b = appendPadded(b, int64(mo), 2)
	b = appendPadded(b, int64(dd), 2)
	b = append(b, g.node[:]...)
	return &billDay{start: start.UnixMilli(), end: start.AddDate(0, 0, 1).UnixMilli(), head: string(b)}
}

// appendPadded appends n in decimal, left-padded with zeros to width digits.
func appendPadded(b []byte, n int64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], n, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randBuf hands out crypto/rand bytes read in bulk: one read serves many
// nonces instead of one system call each. Every byte is used once.
type randBuf struct {
	b [1536]byte
	n int // bytes already used
}

var randPool = sync.Pool{New: func() any { return &randBuf{n: len(randBuf{}.b)} }}

// randomBytes fills dst (at most len(randBuf.b) bytes) from crypto/rand.
func randomBytes(dst []byte) {
	rb := randPool.Get().(*randBuf)
	if len(rb.b)-rb.n < len(dst) {
		rand.Read(rb.b[:]) // never fails (crypto/rand since Go 1.24)
		rb.n = 0
	}
	rb.n += copy(dst, rb.b[rb.n:])
	randPool.Put(rb)
}

// newNonce returns 32 characters from [0-9A-Za-z] drawn from crypto/rand
// without modulo bias.
func newNonce() string {
	var out [32]byte
	var rnd [48]byte
	n := 0
	for n < len(out) {
		randomBytes(rnd[:])
		for _, c := range rnd {
			if c >= 248 { // 248 = 4*62: reject to keep the draw uniform
				continue
			}
			out[n] = alnum[c%62]
			n++
			if n == len(out) {
				break
			}
		}
	}
	return string(out[:])
}
