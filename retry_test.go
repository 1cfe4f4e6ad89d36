package redpack

import (
	"testing"
	"time"

	"github.com/redpack-go/redpack/internal/testcert"
)

func TestRetryPolicyDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    RetryPolicy
	}{
		{"doubling capped", RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}},
		{"base equals max", RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: time.Second}},
		{"default", DefaultRetryPolicy()},
		{"tiny", tinyRetry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.p
			for n := 1; n <= 12; n++ {
				// Without jitter: BaseDelay·2^(n-1), capped.
				lo := p.BaseDelay
				for i := 1; i < n && lo < p.MaxDelay; i++ {
					lo *= 2
				}
				lo = min(lo, p.MaxDelay)
				hi := min(lo+lo/4, p.MaxDelay)
				seen := map[time.Duration]bool{}
				for range 200 {
					d := p.delay(n)
					if d < lo || d > hi || d < p.BaseDelay || d > p.MaxDelay {
						t.Fatalf("delay(%d) = %v, want within [%v, %v] and [BaseDelay %v, MaxDelay %v]", n, d, lo, hi, p.BaseDelay, p.MaxDelay)
					}
					seen[d] = true
				}
				if hi > lo && len(seen) < 2 {
					t.Errorf("delay(%d) never varied over 200 draws: no jitter", n)
				}
			}
		})
	}
	if got := DefaultRetryPolicy(); got.BaseDelay < time.Second || got.MaxAttempts < 1 || got.MaxDelay < got.BaseDelay {
		t.Errorf("DefaultRetryPolicy() = %+v, want BaseDelay >= 1s (the official minimum retry interval)", got)
	}
	for _, bad := range []RetryPolicy{{}, {MaxAttempts: 1, BaseDelay: -1}, {MaxAttempts: 2, BaseDelay: 2 * time.Second, MaxDelay: time.Second}} {
		if err := WithRetryPolicy(bad)(&options{}); err == nil {
			t.Errorf("WithRetryPolicy(%+v) accepted", bad)
		}
	}
}

// A rate limiter that cannot grant a token before the deadline stops the
// call before anything is written: not sent, and the server sees nothing.
// TestDefaultRetryPolicyIsAValue is the regression test for issue 8 item 14:
// no package-level value decides what NewClient uses, so a caller cannot
// turn retries into "not sent after 0 attempt(s)" for every Client.
func TestDefaultRetryPolicyIsAValue(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy()
	p.MaxAttempts, p.BaseDelay = 0, 0
	if got := DefaultRetryPolicy(); got.MaxAttempts != 3 || got.BaseDelay != time.Second || !got.valid() {
		t.Errorf("DefaultRetryPolicy() = %+v after changing a copy", got)
	}
	if o := defaultOptions(); !o.retry.valid() || o.retry != DefaultRetryPolicy() {
		t.Errorf("default options use %+v", o.retry)
	}
	if err := WithRetryPolicy(RetryPolicy{})(&options{}); err == nil {
		t.Error("WithRetryPolicy accepted the zero policy")
	}
}

// closedAddr returns a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	addr, err := testcert.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
