package redpack

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var billNoChars = regexp.MustCompile(`^[0-9A-Za-z]{1,28}$`)

// parseBillNo checks a generated bill number against
// prefix + yyyymmdd (CST) + NN + 8-digit millisecond of the day and returns
// its instant (CST) and node.
func parseBillNo(t testing.TB, s, prefix string) (at time.Time, node int) {
	t.Helper()
	if !billNoChars.MatchString(s) {
		t.Fatalf("bill number %q: not 1-28 characters of [0-9A-Za-z]", s)
	}
	if !strings.HasPrefix(s, prefix) || len(s) != len(prefix)+18 {
		t.Fatalf("bill number %q: want %q + 18 digits", s, prefix)
	}
	tail := s[len(prefix):]
	for i := 0; i < len(tail); i++ {
		if !isDigit(tail[i]) {
			t.Fatalf("bill number %q: %q is not all digits", s, tail)
		}
	}
	day, err := time.ParseInLocation("20060102", tail[:8], cst)
	if err != nil {
		t.Fatalf("bill number %q: date: %v", s, err)
	}
	node, _ = strconv.Atoi(tail[8:10])
	ms, _ := strconv.ParseInt(tail[10:], 10, 64)
	if ms >= 86_400_000 {
		t.Fatalf("bill number %q: millisecond of day %d", s, ms)
	}
	return day.Add(time.Duration(ms) * time.Millisecond), node
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestBillNoFormatAndCSTDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		clock time.Time
		node  int
		want  []string // suffixes after the mch_id
	}{
		{"UTC evening is the next day in CST", time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC), 7,
			[]string{"20261128" + "07" + "14400000", "20261128" + "07" + "14400001", "20261128" + "07" + "14400002"}},
		{"CST midnight rolls the date", time.Date(2026, 11, 27, 15, 59, 59, 998_000_000, time.UTC), 0,
			[]string{"20261127" + "00" + "86399998", "20261127" + "00" + "86399999", "20261128" + "00" + "00000000"}},
		{"a zone other than UTC", time.Date(2026, 1, 1, 0, 0, 0, 5_000_000, time.FixedZone("EST", -5*3600)), 99,
			[]string{"20260101" + "99" + "46800005", "20260101" + "99" + "46800006"}},
		{"leap day", time.Date(2028, 2, 28, 16, 0, 0, 0, time.UTC), 42,
			[]string{"20280229" + "42" + "00000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mch := uniqueMchID()
			c := offlineClient(t, mch, okAppID, WithClock(fixedClock(tt.clock)), WithNodeID(tt.node))
			for i, suffix := range tt.want {
				got := c.NewBillNo()
				if want := mch + suffix; got != want {
					t.Errorf("number %d = %s, want %s", i, got, want)
				}
				if len(got) != billNoMaxLen {
					t.Errorf("%s: %d characters, want 28 for a 10-digit mch_id", got, len(got))
				}
				at, node := parseBillNo(t, got, mch)
				if node != tt.node {
					t.Errorf("%s: node %d, want %d", got, node, tt.node)
				}
				if want := tt.clock.Add(time.Duration(i) * time.Millisecond); !at.Equal(want.Truncate(time.Millisecond)) {
					t.Errorf("%s: instant %v, want %v", got, at, want)
				}
			}
		})
	}
}

func TestBillNoPrefix(t *testing.T) {
	t.Parallel()
	clock := fixedClock(time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC))
	u1, u2, u3 := uniqueMchID(), uniqueMchID(), uniqueMchID()
	tests := []struct {
		name, mchID, prefix string
	}{
		{"longer than 10 is cut to its last 10", "12345" + u1, u1},
		{"32 digits", strings.Repeat("1", 22) + u2, u2},
		{"shorter than 10 is kept", "9" + u3[4:], "9" + u3[4:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newBillNoGen(tt.mchID, 3, clock)
			got := g.next()
			if want := tt.prefix + "20261128" + "03" + "14400000"; got != want {
				t.Errorf("next() = %s, want %s", got, want)
			}
			if len(got) > billNoMaxLen {
				t.Errorf("%s: %d characters", got, len(got))
			}
			parseBillNo(t, got, tt.prefix)
		})
	}
}

func TestClientNewBillNo(t *testing.T) {
	t.Parallel()
	mch := uniqueMchID()
	c := offlineClient(t, mch, okAppID, WithNodeID(12))
	before := time.Now().Truncate(time.Millisecond)
	a, b := c.NewBillNo(), c.NewBillNo()
	after := time.Now()
	if a == b {
		t.Fatalf("two calls gave %s", a)
	}
	for _, s := range []string{a, b} {
		at, node := parseBillNo(t, s, mch)
		if node != 12 {
			t.Errorf("%s: node %d, want 12", s, node)
		}
		if at.Before(before) || at.After(after.Add(time.Second)) {
			t.Errorf("%s: instant %v not near the wall clock %v", s, at, before)
		}
	}
	if a >= b {
		t.Errorf("numbers not increasing: %s then %s", a, b)
	}
}

// TestBillNoUniqueConcurrent draws 1,000,000 numbers from 8 goroutines across
// two Clients of one merchant and node, with the real clock: the shared
// logical clock must never repeat a number.
func TestBillNoUniqueConcurrent(t *testing.T) {
	t.Parallel()
	const (
		goroutines = 8
		total      = 1_000_000
		per        = total / goroutines
	)
	mch := uniqueMchID()
	clients := []*Client{offlineClient(t, mch, okAppID), offlineClient(t, mch, okAppID)}
	results := make([][]uint64, goroutines)
	bad := make([]string, goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			c := clients[i%2]
			out := make([]uint64, 0, per)
			for range per {
				s := c.NewBillNo()
				// mch_id + 18 digits: keep the digits as a number.
				if len(s) != billNoMaxLen || !strings.HasPrefix(s, mch) {
					bad[i] = s
					return
				}
				n, err := strconv.ParseUint(s[len(mch):], 10, 64)
				if err != nil {
					bad[i] = s
					return
				}
				out = append(out, n)
			}
			results[i] = out
		})
	}
	wg.Wait()
	for i, s := range bad {
		if s != "" {
			t.Fatalf("goroutine %d: malformed bill number %q", i, s)
		}
	}
	seen := make(map[uint64]struct{}, total)
	for _, out := range results {
		if len(out) != per {
			t.Fatalf("a goroutine drew %d numbers, want %d", len(out), per)
		}
		for _, n := range out {
			if _, dup := seen[n]; dup {
				t.Fatalf("duplicate bill number %s%018d", mch, n)
			}
			seen[n] = struct{}{}
		}
	}
	if len(seen) != total {
		t.Fatalf("%d distinct numbers, want %d", len(seen), total)
	}
	// Spot-check full validity (date, node, millisecond) on a sample.
	for _, out := range results {
		for _, n := range []uint64{out[0], out[len(out)/2], out[len(out)-1]} {
			parseBillNo(t, mch+leftPad(strconv.FormatUint(n, 10), 18), mch)
		}
	}
}

// TestBillNoSameFixedClock: a frozen clock must not freeze the numbers,
// neither for one (mch_id, node) shared by two generators nor across nodes.
func TestBillNoSameFixedClock(t *testing.T) {
	t.Parallel()
	clock := fixedClock(time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC))
	mch := uniqueMchID()
	gens := []*billNoGen{
		newBillNoGen(mch, 1, clock), newBillNoGen(mch, 1, clock), // same node: one shared clock
		newBillNoGen(mch, 2, clock), newBillNoGen(mch, 99, clock),
	}
	const n = 20_000
	seen := make(map[string]int, n*len(gens))
	for i := range n {
		for gi, g := range gens {
			s := g.next()
			if prev, dup := seen[s]; dup {
				t.Fatalf("draw %d: generator %d repeated %s of generator %d", i, gi, s, prev)
			}
			seen[s] = gi
		}
	}
	// A node not used before starts at the clock itself.
	if got, want := newBillNoGen(mch, 50, clock).next(), mch+"20261128"+"50"+"14400000"; got != want {
		t.Errorf("fresh node 50: %s, want %s", got, want)
	}
}

func TestBillNoNodesNeverCollide(t *testing.T) {
	t.Parallel()
	clock := fixedClock(time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC))
	mch := uniqueMchID()
	// Two processes of one merchant at the same instant differ in node
	// digits only; every node yields a distinct number.
	seen := map[string]int{}
	for node := 0; node <= MaxNodeID; node++ {
		s := newBillNoGen(mch, node, clock).next()
		if prev, dup := seen[s]; dup {
			t.Fatalf("node %d and node %d both gave %s", node, prev, s)
		}
		seen[s] = node
		if _, got := parseBillNo(t, s, mch); got != node {
			t.Errorf("%s: node %d, want %d", s, got, node)
		}
	}
}

func TestWithNodeIDBounds(t *testing.T) {
	t.Parallel()
	for _, id := range []int{-1, 100} {
		var o options
		if err := WithNodeID(id)(&o); err == nil {
			t.Errorf("WithNodeID(%d) accepted", id)
		}
	}
	for _, id := range []int{0, 99} {
		var o options
		if err := WithNodeID(id)(&o); err != nil || o.node != id {
			t.Errorf("WithNodeID(%d) = %v, node %d", id, err, o.node)
		}
	}
}

func TestNonceFormat(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		n := newNonce()
		if len(n) != 32 {
			t.Fatalf("nonce %q: %d characters, want 32", n, len(n))
		}
		for i := 0; i < len(n); i++ {
			if !isAlnum(n[i]) {
				t.Fatalf("nonce %q: byte %q outside [0-9A-Za-z]", n, n[i])
			}
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
	}
}

// TestNonceDistribution draws 640,000 characters and checks that all 62
// appear with a chi-square statistic far from anything a biased draw (such
// as plain modulo 62 on bytes, 25% excess on eight characters) would give.
func TestNonceDistribution(t *testing.T) {
	t.Parallel()
	const nonces = 20_000
	var counts [256]int
	for range nonces {
		for _, c := range []byte(newNonce()) {
			counts[c]++
		}
	}
	total := float64(nonces * 32)
	expected := total / 62
	chi2 := 0.0
	for i := 0; i < len(alnum); i++ {
		c := counts[alnum[i]]
		if c == 0 {
			t.Errorf("character %q never drawn", alnum[i])
		}
		d := float64(c) - expected
		chi2 += d * d / expected
	}
	// 61 degrees of freedom: mean 61, standard deviation ~11. 150 is eight
	// standard deviations out; a modulo bias gives several thousand.
	if chi2 > 150 || math.IsNaN(chi2) {
		t.Errorf("chi-square %.1f over 62 characters, want < 150 (uniform)", chi2)
	}
}
