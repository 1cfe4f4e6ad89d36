package redpacktest

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpack-go/redpack"
)

var soakN = flag.Int("soak.n", 1000, "number of red packets TestSoak sends")

// soakJob is one logical send: its bill number is fixed before the first
// attempt and never changes.
type soakJob struct {
	req redpack.SendRequest

	// Filled by the sender.
	paid     bool // confirmed paid (answer or query)
	failed   bool // confirmed not paid (FINAL answer or FAILED status)
	unknown  bool // the first Send ended with an unknown or pending outcome
	resends  int  // identical re-sends made while resolving
	resolves int  // Resolve calls made while resolving
	note     string
}

// TestSoak hammers the fake with concurrent senders under random faults of
// every kind and proves the money invariants: no double payment, no lost
// send, no bill number with two parameter sets.
//
// Unknown outcomes are resolved while the faults stay active (the harder
// case: the queries and re-sends of the resolution suffer faults too). A
// sender resolves its own unknowns at once: it calls s.Settle() when the
// outcome was PENDING, then client.Resolve with a short deadline; if the
// query cannot settle it (NOT_FOUND: the request may never have landed), it
// re-sends the identical request under the same bill number, as the
// specification prescribes, and repeats.
func TestSoak(t *testing.T) {
	n := *soakN
	const senders = 8
	start := time.Now()
	rng := rand.New(rand.NewPCG(2024, 6))
	// About seven sends per user: some users meet the daily count and
	// amount limits.
	users := max(n/7, 1)
	jobs := make([]*soakJob, n)
	var want int64
	for i := range jobs {
		amount := int64(100 + rng.IntN(19901))
		want += amount
		jobs[i] = &soakJob{req: redpack.SendRequest{Packet: redpack.Packet{
			BillNo: fmt.Sprintf("SOAK%08d", i), OpenID: fmt.Sprintf("oSoakUser%05d", i%users), Amount: amount,
			SendName: "压测商户", Wishing: "恭喜发财", ActName: "压测", Remark: fmt.Sprintf("job %d", i),
		}}}
	}
	// About 8% of the money is missing, so the last sends meet NOTENOUGH.
	initial := want * 92 / 100
	s := newTestServer(t,
		WithFreqLimit(0),
		WithSeed(20240605),
		WithBalance(initial),
		WithMerchantDailyLimit(1<<62),
		WithProcessingDelay(50*time.Millisecond),
	)
	// The seven fault kinds, on every endpoint.
	faultKinds := []struct {
		a Answer
		p float64
	}{
		{ResultFail("SYSTEMERROR"), 0.04},
		{Processing(), 0.04},
		{HTTPStatus(502), 0.04},
		{Process().After(250 * time.Millisecond), 0.02},
		{Drop(), 0.04},
		{PayThenDrop(), 0.04},
		{ResultFail("FREQ_LIMIT"), 0.04},
	}
	var total float64
	for _, f := range faultKinds {
		if err := s.InjectRandom(AnyEndpoint, f.a, f.p); err != nil {
			t.Fatal(err)
		}
		total += f.p
	}
	c := s.NewClient(
		// Just below the slow delay: a slow answer is a timeout.
		redpack.WithTimeout(200*time.Millisecond),
		redpack.WithMaxConns(senders*2),
	)
	t.Cleanup(c.CloseIdleConnections)

	ctx := context.Background()
	work := make(chan *soakJob)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for j := range work {
				soakSend(ctx, t, s, c, j)
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)

	// Invariants.
	byBill := map[string]*soakJob{}
	var confirmed int64
	var paidN, failedN, unknownN, resends, resolves int
	for _, j := range jobs {
		if byBill[j.req.BillNo] != nil {
			t.Fatalf("bill number %s used twice", j.req.BillNo)
		}
		byBill[j.req.BillNo] = j
		switch {
		case j.paid && !j.failed:
			paidN++
			confirmed += j.req.Amount
		case j.failed && !j.paid:
			failedN++
		default:
			t.Errorf("lost send: bill %s ended neither paid nor failed (%s)", j.req.BillNo, j.note)
		}
		if j.unknown {
			unknownN++
		}
		resends += j.resends
		resolves += j.resolves
	}
	packets := s.Packets()
	seen := map[string]bool{}
	for _, p := range packets {
		if seen[p.BillNo] {
			t.Errorf("double payment: bill %s paid twice", p.BillNo)
		}
		seen[p.BillNo] = true
		j := byBill[p.BillNo]
		if j == nil {
			t.Errorf("paid packet %s belongs to no send", p.BillNo)
			continue
		}
		if !j.paid {
			t.Errorf("bill %s paid in the ledger but the sender concluded %q", p.BillNo, j.note)
		}
		if p.Amount != j.req.Amount || p.OpenID != j.req.OpenID {
			t.Errorf("bill %s paid %d to %s, want %d to %s", p.BillNo, p.Amount, p.OpenID, j.req.Amount, j.req.OpenID)
		}
	}
	failReasons := map[string]int{}
	for _, j := range jobs {
		if j.paid && !seen[j.req.BillNo] {
			t.Errorf("bill %s confirmed paid but not in the ledger", j.req.BillNo)
		}
		if j.failed {
			p, ok := s.Packet(j.req.BillNo)
			if !ok || p.Status != redpack.StatusFailed {
				t.Errorf("bill %s concluded failed, ledger says %v %v", j.req.BillNo, ok, p.Status)
			}
			failReasons[p.Reason]++
		}
	}
	if got := s.TotalPaid(); got != confirmed {
		t.Errorf("TotalPaid = %d, sum of confirmed amounts = %d", got, confirmed)
	}
	if got := s.Balance(); got != initial-confirmed {
		t.Errorf("Balance = %d, want %d - %d = %d", got, initial, confirmed, initial-confirmed)
	}

	// Every request under one bill number carried one parameter set.
	reqs := s.Requests()
	params := map[string]string{}
	faults := map[string]int{}
	ops := map[Endpoint]int{}
	for _, r := range reqs {
		ops[r.Endpoint]++
		if r.Injected != "" {
			faults[r.Injected]++
		}
		if r.Endpoint != EndpointSend || r.Fields == nil {
			continue
		}
		f := maps.Clone(r.Fields)
		delete(f, "nonce_str")
		delete(f, "sign")
		set := string(encodeFields(f))
		no := r.Fields["mch_billno"]
		if prev, ok := params[no]; ok && prev != set {
			t.Errorf("bill %s sent with two parameter sets:\n%s\n%s", no, prev, set)
		}
		params[no] = set
	}
	kinds := make([]string, 0, len(faults))
	var faultTotal int
	for _, f := range faultKinds {
		name := f.a.String()
		if faults[name] == 0 {
			t.Errorf("no %v injected", name)
		}
		faultTotal += faults[name]
		kinds = append(kinds, fmt.Sprintf("%s=%d", name, faults[name]))
	}
	reasons := slices.Collect(maps.Keys(failReasons))
	sort.Strings(reasons)
	var rs []string
	for _, r := range reasons {
		rs = append(rs, fmt.Sprintf("%s=%d", r, failReasons[r]))
	}
	t.Logf("soak: %d sends by %d senders in %v; %d requests (sendredpack %d, gethbinfo %d)",
		n, senders, elapsed.Round(time.Millisecond), len(reqs), ops[EndpointSend], ops[EndpointQuery])
	t.Logf("soak: faults %d (%.1f%% of requests, %.0f%% configured): %s",
		faultTotal, 100*float64(faultTotal)/float64(len(reqs)), 100*total, strings.Join(kinds, " "))
	t.Logf("soak: %d unknown outcomes resolved (%d Resolve calls, %d identical re-sends)", unknownN, resolves, resends)
	t.Logf("soak: %d paid, total %d fen (ledger %d, balance %d of %d); %d failed finally: %s",
		paidN, confirmed, s.TotalPaid(), s.Balance(), initial, failedN, strings.Join(rs, " "))
}

// soakSend sends j once and resolves an unknown outcome until the truth is
// known.
func soakSend(ctx context.Context, t *testing.T, s *Server, c *redpack.Client, j *soakJob) {
	_, err := c.Send(ctx, j.req)
	if settled(t, j, err, "send") {
		return
	}
	j.unknown = true
	for round := 0; round < 100; round++ {
		if outcomeOf(err) == "PENDING" {
			s.Settle()
		}
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		out, rec, qerr := resolveOutcome(rctx, c, j.req)
		cancel()
		j.resolves++
		if rec != nil {
			switch out {
			case "OK":
				if rec.TotalAmount != j.req.Amount {
					t.Errorf("bill %s: query says %d fen, sent %d", j.req.BillNo, rec.TotalAmount, j.req.Amount)
				}
				j.paid, j.note = true, "query "+string(rec.Status)
				return
			case "FINAL":
				j.failed, j.note = true, "query "+string(rec.Status)
				return
			}
		}
		if out == "REJECTED" {
			t.Errorf("bill %s: query rejected: %v", j.req.BillNo, qerr)
			j.note = qerr.Error()
			return
		}
		// Not found (or still unknown): re-send the identical request
		// under the same bill number.
		j.resends++
		_, err = c.Send(ctx, j.req)
		if settled(t, j, err, "re-send") {
			return
		}
	}
	j.note = "unresolved: " + err.Error()
}

// settled records a definite outcome of a send; false when it is unknown.
func settled(t *testing.T, j *soakJob, err error, what string) bool {
	switch outcomeOf(err) {
	case "OK":
		j.paid, j.note = true, what+" OK"
		return true
	case "FINAL":
		j.failed, j.note = true, what+" "+err.Error()
		return true
	case "REJECTED":
		t.Errorf("bill %s: %s rejected: %v", j.req.BillNo, what, err)
		j.note = err.Error()
		return true
	}
	return false
}
