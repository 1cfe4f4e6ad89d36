package redpack

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	billNoChars = regexp.MustCompile(`^[0-9A-Za-z]{1,28}$`)
	allDigits   = regexp.MustCompile(`^[0-9]{18}$`)
)

// parseBillNo checks a time-based bill number against prefix + yyyymmdd
// (CST) + NN + 8-digit millisecond of the day and returns its instant and
// node.
func parseBillNo(t testing.TB, s, prefix string) (at time.Time, node int) {
	t.Helper()
	tail, ok := strings.CutPrefix(s, prefix)
	if !billNoChars.MatchString(s) || !ok || !allDigits.MatchString(tail) {
		t.Fatalf("bill number %q: want %q + 18 digits", s, prefix)
	}
	day, err := time.ParseInLocation("20060102", tail[:8], cst)
	if err != nil {
		t.Fatalf("bill number %q: %v", s, err)
	}
	node, _ = strconv.Atoi(tail[8:10])
	ms, _ := strconv.ParseInt(tail[10:], 10, 64)
	if ms >= 86_400_000 {
		t.Fatalf("bill number %q: millisecond of day %d", s, ms)
	}
	return day.Add(time.Duration(ms) * time.Millisecond), node
}

// steppingClock is a clock that runs with real time, shifted by an offset
// the test can change (a clock stepped back or forward).
type steppingClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *steppingClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *steppingClock) step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func TestBillNoFormatAndCSTDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		clock time.Time
		node  int
		want  string // after the mch_id
	}{
		{"UTC evening is the next day in CST", time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC), 7, "20261128" + "07" + "14400000"},
		{"last millisecond of a CST day", time.Date(2026, 11, 27, 15, 59, 59, 999_000_000, time.UTC), 0, "20261127" + "00" + "86399999"},
		{"CST midnight", time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC), 0, "20261128" + "00" + "00000000"},
		{"a zone other than UTC", time.Date(2026, 1, 1, 0, 0, 0, 5_000_000, time.FixedZone("EST", -5*3600)), 99, "20260101" + "99" + "46800005"},
		{"leap day", time.Date(2028, 2, 28, 16, 0, 0, 0, time.UTC), 42, "20280229" + "42" + "00000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mch := uniqueMchID()
			c := offlineClient(t, mch, okAppID, WithClock(func() time.Time { return tt.clock }), WithNodeID(tt.node))
			// The generator starts at the millisecond it was made, so
			// the first number needs the clock to move on by one.
			c.billNos.last.Add(-1)
			got, err := c.NewBillNo()
			if want := mch + tt.want; err != nil || got != want {
				t.Errorf("NewBillNo() = %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestBillNoPrefix(t *testing.T) {
	t.Parallel()
	for _, mch := range []string{"7", "1900000109", "123456789012345"} {
		c := offlineClient(t, mch, okAppID, WithNodeID(3))
		got, err := c.NewBillNo()
		if err != nil {
			t.Fatal(err)
		}
		if _, node := parseBillNo(t, got, mch[max(0, len(mch)-10):]); node != 3 {
			t.Errorf("%s: node %d, want 3", got, node)
		}
	}
}

// TestNewBillNoRequiresNodeID is the regression test for issue 8 item 4's
// silent shared node 0: without WithNodeID there is no time-based number.
func TestNewBillNoRequiresNodeID(t *testing.T) {
	t.Parallel()
	c := offlineClient(t, uniqueMchID(), okAppID)
	got, err := c.NewBillNo()
	if err == nil || got != "" || !strings.Contains(err.Error(), "WithNodeID") || !strings.Contains(err.Error(), "BillNoFor") {
		t.Errorf("NewBillNo() without a node = %q, %v; want an error naming WithNodeID and BillNoFor", got, err)
	}
}

// TestBillNoNeverAheadOfWallClock (issue 8 item 4): drawing numbers as fast
// as possible never issues one for an instant later than the wall clock,
// and never two in one millisecond. (The old logical clock ran a
// millisecond ahead per number.)
func TestBillNoNeverAheadOfWallClock(t *testing.T) {
	t.Parallel()
	mch := uniqueMchID()
	c := offlineClient(t, mch, okAppID, WithNodeID(11))
	var prev time.Time
	for range 300 {
		s, err := c.NewBillNo()
		if err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		at, _ := parseBillNo(t, s, mch)
		if at.After(after) {
			t.Fatalf("bill number %s is for %v, after the wall clock %v", s, at, after)
		}
		if !at.After(prev) {
			t.Fatalf("bill number %s is not later than the previous one", s)
		}
		prev = at
	}
}

// TestBillNoAcrossRestart (issue 8 item 4) runs two real processes one after
// the other on the same merchant and node, each drawing numbers as fast as
// it can; the second repeats none of the first's.
func TestBillNoAcrossRestart(t *testing.T) {
	t.Parallel()
	const n = 400
	mch := uniqueMchID()
	seen := map[string]bool{}
	for run := range 2 {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "REDPACK_BILLNO_HELPER="+mch+","+strconv.Itoa(n))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		got := 0
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, mch) {
				continue
			}
			got++
			if seen[line] {
				t.Fatalf("run %d repeated %s", run, line)
			}
			seen[line] = true
		}
		if got != n {
			t.Fatalf("run %d printed %d numbers, want %d", run, got, n)
		}
	}
}

// TestMain runs the child process of TestBillNoAcrossRestart when asked
// to, and the tests otherwise.
func TestMain(m *testing.M) {
	if arg := os.Getenv("REDPACK_BILLNO_HELPER"); arg != "" {
		os.Exit(billNoHelper(arg))
	}
	os.Exit(m.Run())
}

// billNoHelper draws numbers as fast as it can on node 7 and prints them.
func billNoHelper(arg string) int {
	mch, count, _ := strings.Cut(arg, ",")
	n, _ := strconv.Atoi(count)
	leaf, err := offlineCert()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := NewClient(Config{MchID: mch, AppID: okAppID, APIKey: vecKey, CertPEM: leaf.CertPEM,
		KeyPEM: leaf.KeyPEM, BaseURL: closedURL}, WithNodeID(7))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for range n {
		s, err := c.NewBillNo()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(s)
	}
	return 0
}

// TestBillNoClockStepsBack (issue 8 item 4): a clock stepped back a little
// makes the generator wait until it passes the last number again; stepped
// back far, it refuses instead of issuing a number that may repeat.
func TestBillNoClockStepsBack(t *testing.T) {
	t.Parallel()
	mch := uniqueMchID()
	clock := &steppingClock{}
	c := offlineClient(t, mch, okAppID, WithClock(clock.now), WithNodeID(12))
	first, err := c.NewBillNo()
	if err != nil {
		t.Fatal(err)
	}
	firstAt, _ := parseBillNo(t, first, mch)

	clock.step(-300 * time.Millisecond)
	start := time.Now()
	second, err := c.NewBillNo()
	if err != nil {
		t.Fatal(err)
	}
	if secondAt, _ := parseBillNo(t, second, mch); !secondAt.After(firstAt) {
		t.Errorf("after a step back: %s is not after %s", second, first)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("after a 300 ms step back NewBillNo returned after %v; want it to wait for the clock", waited)
	}

	clock.step(-time.Hour)
	if got, err := c.NewBillNo(); err == nil || !strings.Contains(err.Error(), "behind the last bill number") {
		t.Errorf("after a 1 h step back: NewBillNo() = %q, %v; want a refusal", got, err)
	}
}

// TestBillNoUniqueConcurrent: goroutines sharing a Client, and Clients of the
// same merchant and node in one process, never issue the same number.
func TestBillNoUniqueConcurrent(t *testing.T) {
	t.Parallel()
	mch := uniqueMchID()
	a := offlineClient(t, mch, okAppID, WithNodeID(5))
	b := offlineClient(t, mch, "wxsecondappid0000", WithNodeID(5))
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for g := range 8 {
		c := a
		if g%2 == 1 {
			c = b
		}
		wg.Go(func() {
			for range 60 {
				s, err := c.NewBillNo()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[s] {
					t.Errorf("duplicate %s", s)
				}
				seen[s] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 480 {
		t.Errorf("%d distinct numbers, want 480", len(seen))
	}
}

func TestWithNodeIDBounds(t *testing.T) {
	t.Parallel()
	for _, id := range []int{0, 1, MaxNodeID} {
		if err := WithNodeID(id)(&options{}); err != nil {
			t.Errorf("WithNodeID(%d): %v", id, err)
		}
	}
	for _, id := range []int{-1, MaxNodeID + 1, 1 << 40} {
		if err := WithNodeID(id)(&options{}); err == nil {
			t.Errorf("WithNodeID(%d) accepted", id)
		}
	}
}

// TestDeriveBillNo: the documented format, determinism, separation by
// namespace and merchant, and refusal of bad input.
func TestDeriveBillNo(t *testing.T) {
	t.Parallel()
	derive := func(mch string, ns byte, ref string) string {
		t.Helper()
		s, err := DeriveBillNo(mch, ns, ref)
		if err != nil {
			t.Fatalf("DeriveBillNo(%q, %q, %q): %v", mch, ns, ref, err)
		}
		return s
	}
	a := derive("1900000109", 'R', "order-42")
	for _, tc := range []struct{ got, pattern string }{
		{a, `^1900000109R[0-9A-Z]{17}$`},
		{derive("123456789012345", 'R', "x"), `^6789012345R[0-9A-Z]{17}$`},
		{derive("7", 'A', "x"), `^7A[0-9A-Z]{17}$`},
	} {
		if !regexp.MustCompile(tc.pattern).MatchString(tc.got) {
			t.Errorf("%q does not match %s", tc.got, tc.pattern)
		}
	}
	if again := derive("1900000109", 'R', "order-42"); again != a {
		t.Errorf("not deterministic: %q then %q", a, again)
	}
	if other := derive("1900000109", 'R', "order-43"); other == a {
		t.Errorf("two refs share %q", a)
	}
	if ns := derive("1900000109", 'C', "order-42"); ns[11:] == a[11:] {
		t.Errorf("namespaces R and C share the suffix of %q", a)
	}
	c := offlineClient(t, "1900000109", okAppID)
	if got, err := c.BillNoFor("order-42"); err != nil || got != a {
		t.Errorf("BillNoFor = %q, %v; want DeriveBillNo(mch, 'R', ref) = %q", got, err, a)
	}
	for _, bad := range []struct {
		mch string
		ns  byte
		ref string
	}{
		{"", 'R', "x"}, {"12a", 'R', "x"}, {strings.Repeat("1", 33), 'R', "x"},
		{"1900000109", 'r', "x"}, {"1900000109", '1', "x"}, {"1900000109", 0, "x"},
		{"1900000109", 'R', ""}, {"1900000109", 'R', strings.Repeat("x", 257)},
	} {
		if got, err := DeriveBillNo(bad.mch, bad.ns, bad.ref); err == nil {
			t.Errorf("DeriveBillNo(%q, %q, %q) = %q, want an error", bad.mch, bad.ns, bad.ref, got)
		}
	}
}

// TestDerivedNeverTimeBased: the character after the mch_id is a letter in
// a derived number and a digit in a time-based one.
func TestDerivedNeverTimeBased(t *testing.T) {
	t.Parallel()
	mch := uniqueMchID()
	c := offlineClient(t, mch, okAppID, WithNodeID(1))
	tb, err := c.NewBillNo()
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.BillNoFor(tb) // even a ref equal to a time-based number
	if err != nil {
		t.Fatal(err)
	}
	if !isDigit(tb[len(mch)]) || isDigit(d[len(mch)]) || len(d) != len(mch)+1+derivedLen {
		t.Errorf("time-based %q, derived %q: want a digit, then a letter after the mch_id", tb, d)
	}
}

func TestNonceFormat(t *testing.T) {
	t.Parallel()
	nonce := regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)
	seen := map[string]bool{}
	for range 1000 {
		n := newNonce()
		if !nonce.MatchString(n) || seen[n] {
			t.Fatalf("nonce %q: malformed or repeated", n)
		}
		seen[n] = true
	}
}
