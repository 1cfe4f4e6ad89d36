package redpacktest

import "strconv"

// Fault is a failure the Server can inject into the handling of a request.
// Faults apply to every endpoint, gethbinfo included, except FaultProcessing,
// which only a send that creates a new bill can suffer (on any other request
// it is consumed without effect).
type Fault int

// Faults.
const (
	// FaultSystemError answers SYSTEMERROR without echo fields; nothing is
	// processed.
	FaultSystemError Fault = iota + 1
	// FaultProcessing makes a send that would create a new bill answer
	// PROCESSING: a send that would be paid is accepted (balance and daily
	// limits reserved) and settles to SENT after the processing delay or at
	// Settle; one that would fail finally settles to FAILED. gethbinfo shows
	// SENDING until then, and re-sending the bill number answers PROCESSING
	// again.
	FaultProcessing
	// FaultBadGateway answers HTTP 502 with an HTML body; nothing is
	// processed.
	FaultBadGateway
	// FaultSlow processes the request normally and delays the answer by the
	// slow delay (WithSlowDelay). If the client gives up first, the work is
	// done but the answer is lost, as with FaultPayThenDrop.
	FaultSlow
	// FaultResetBeforeProcessing resets the connection (TCP RST) without
	// processing the request.
	FaultResetBeforeProcessing
	// FaultPayThenDrop processes the request fully (a valid send is paid),
	// then resets the connection without answering.
	FaultPayThenDrop
	// FaultFreqLimit answers FREQ_LIMIT; nothing is processed.
	FaultFreqLimit
)

var faultNames = [...]string{"", "FaultSystemError", "FaultProcessing", "FaultBadGateway", "FaultSlow",
	"FaultResetBeforeProcessing", "FaultPayThenDrop", "FaultFreqLimit"}

// Faults lists every Fault, in declaration order.
var Faults = []Fault{FaultSystemError, FaultProcessing, FaultBadGateway, FaultSlow,
	FaultResetBeforeProcessing, FaultPayThenDrop, FaultFreqLimit}

// String returns the constant's name, e.g. "FaultSlow".
func (f Fault) String() string {
	if f > 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

type randomFault struct {
	f Fault
	p float64
}

// Inject queues fault f for the next n requests to any of the four
// endpoints. Queued faults are used first-in first-out, before any random
// fault.
func (s *Server) Inject(f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.queue = append(s.queue, f)
	}
}

// InjectRandom makes each request that finds the queue empty suffer f with
// probability p, drawn from the seeded source (WithSeed). Several random
// faults may be registered; they are mutually exclusive, one uniform draw
// per request is compared with their cumulative probabilities in
// registration order, so with a sum ≤ 1 each happens with exactly its p.
func (s *Server) InjectRandom(f Fault, p float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.random = append(s.random, randomFault{f, p})
}

// ClearFaults empties the queue and removes every random fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = nil
	s.random = nil
}

// nextFault picks the fault of one request; 0 for none. s.mu must be held.
func (s *Server) nextFault() Fault {
	if len(s.queue) > 0 {
		f := s.queue[0]
		s.queue = s.queue[1:]
		return f
	}
	if len(s.random) == 0 {
		return 0
	}
	u := s.rng.Float64()
	cum := 0.0
	for _, r := range s.random {
		cum += r.p
		if u < cum {
			return r.f
		}
	}
	return 0
}
