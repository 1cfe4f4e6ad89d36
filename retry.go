package redpack

import (
	"context"
	"math/rand/v2"
	"time"
)

// RetryPolicy says how often and how far apart a call is attempted again
// when its outcome is unknown and transient: a transport error or timeout, a
// 5xx or undecodable answer, SYSTEMERROR, FREQ_LIMIT, an unrecognised
// err_code. Every attempt sends the very same bytes (same bill number, nonce
// and sign), so a retry can never pay twice. Validation, signature,
// certificate and final err_codes are never retried; PROCESSING is not
// retried either but reported as an unknown outcome.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt: 1 disables retries.
	MaxAttempts int
	// BaseDelay is the wait before the first retry; it doubles with each
	// further retry. WeChat Pay asks for at least one second between
	// re-sends of one bill number: tiny delays are for tests.
	BaseDelay time.Duration
	// MaxDelay caps the wait.
	MaxDelay time.Duration
}

// DefaultRetryPolicy returns the policy used when WithRetryPolicy is not
// given: three attempts, waits of 1–1.25 s and 2–2.5 s. It is a function so
// that no package-level value can change what NewClient uses.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second}
}

func (p RetryPolicy) valid() bool {
	return p.MaxAttempts >= 1 && p.BaseDelay >= 0 && p.MaxDelay >= p.BaseDelay
}

// delay returns the wait before retry number n (1 for the first retry):
// BaseDelay·2^(n-1) capped at MaxDelay, plus up to a quarter more as jitter
// (still capped), never below BaseDelay.
func (p RetryPolicy) delay(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	if q := int64(d / 4); q > 0 {
		d += time.Duration(rand.Int64N(q + 1))
	}
	return max(min(d, p.MaxDelay), p.BaseDelay)
}

// sleep waits d or until ctx is done, whichever comes first. It returns
// the context's cause when ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
