package redpacktest

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Endpoint is one of the four red packet endpoints, named as in its path
// /mmpaymkttransfers/<name>.
type Endpoint string

// The endpoints. AnyEndpoint makes an injection or reactor apply to all
// four.
const (
	EndpointSend            Endpoint = "sendredpack"
	EndpointSendMiniProgram Endpoint = "sendminiprogramhb"
	EndpointSendGroup       Endpoint = "sendgroupredpack"
	EndpointQuery           Endpoint = "gethbinfo"
	AnyEndpoint             Endpoint = "*"
)

func (e Endpoint) valid() bool {
	switch e {
	case EndpointSend, EndpointSendMiniProgram, EndpointSendGroup, EndpointQuery, AnyEndpoint:
		return true
	}
	return false
}

func (e Endpoint) matches(op Endpoint) bool { return e == AnyEndpoint || e == op }

type answerKind int

const (
	kindInvalid     answerKind = iota // the zero Answer
	kindProcess                       // the fake's rules
	kindProcessing                    // the fake's rules, a new bill accepted as PROCESSING
	kindPayThenDrop                   // the fake's rules, then a reset instead of the answer
	kindFail                          // an err_code answer, nothing processed
	kindRaw                           // a status and body, nothing processed
	kindDrop                          // a reset, nothing processed
)

// An Answer is what the Server does with one request: apply its rules
// (Process, Processing, PayThenDrop) or answer without processing anything
// (ResultFail, ReturnFail, Raw, HTTPStatus, Drop). Give it to Inject,
// InjectRandom or return it from a Reactor. The zero Answer is invalid.
//
// The seven fault kinds of earlier versions are:
//
//	SYSTEMERROR          ResultFail("SYSTEMERROR") (no echo fields, as the real answer)
//	PROCESSING           Processing()
//	HTML 502             HTTPStatus(http.StatusBadGateway)
//	slow answer          Process().After(d)
//	reset before work    Drop()
//	pay, then drop       PayThenDrop()
//	FREQ_LIMIT           ResultFail("FREQ_LIMIT")
type Answer struct {
	kind        answerKind
	code        string // kindFail
	returnFail  bool   // kindFail: return_code FAIL
	status      int    // kindRaw
	contentType string
	body        []byte
	delay       time.Duration
	rewrite     func(fields map[string]string)
	err         error
}

// Process answers by the fake's rules, as if nothing were injected. With
// After it gives a slow answer; with Rewrite a tampered one.
func Process() Answer { return Answer{kind: kindProcess} }

// Processing applies the fake's rules, except that a send which creates a
// new bill answers PROCESSING: a send that would be paid is accepted
// (balance and daily limits reserved) and settles to SENT after the
// processing delay (WithProcessingDelay) or at Settle; one that would fail
// finally settles to FAILED. gethbinfo shows SENDING until then, and
// re-sending the bill number answers PROCESSING again. On any other request
// (a re-send of a known bill, gethbinfo, a refused request) it is Process.
func Processing() Answer { return Answer{kind: kindProcessing} }

// PayThenDrop processes the request fully (a valid send is paid), then
// resets the connection (TCP RST) instead of answering: the client cannot
// tell whether it was paid.
func PayThenDrop() Answer { return Answer{kind: kindPayThenDrop} }

// Drop resets the connection (TCP RST) without processing the request.
func Drop() Answer { return Answer{kind: kindDrop} }

// ResultFail answers return_code SUCCESS, result_code FAIL with errCode and
// an err_code_des imitating the real text, echoing mch_billno, mch_id,
// wxappid, re_openid and total_amount of the request (gethbinfo:
// mch_billno and mch_id) as real business failures do; SYSTEMERROR carries
// no echo fields, as the real answer. Nothing is processed: no bill, no
// payment, whatever the code claims.
func ResultFail(errCode string) Answer {
	a := Answer{kind: kindFail, code: errCode}
	if errCode == "" {
		a.err = errors.New("ResultFail: empty err_code")
	}
	return a
}

// ReturnFail is ResultFail with return_code FAIL, as in the official
// "system busy" sample (return_code FAIL with a numeric err_code and the
// business echo fields). Nothing is processed.
func ReturnFail(errCode string) Answer {
	a := ResultFail(errCode)
	a.returnFail = true
	if errCode == "" {
		a.err = errors.New("ReturnFail: empty err_code")
	}
	return a
}

// Raw answers status with body as it is (Content-Type contentType, none when
// empty). Nothing is processed.
func Raw(status int, contentType string, body []byte) Answer {
	a := Answer{kind: kindRaw, status: status, contentType: contentType, body: clone(body)}
	if status < 100 || status > 999 {
		a.err = fmt.Errorf("Raw: HTTP status %d", status)
	}
	return a
}

// HTTPStatus answers status with the HTML page of WeChat Pay's gateway
// (stgw), as a 502 from it looks. Nothing is processed.
func HTTPStatus(status int) Answer {
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	body := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
		"</h1></center>\r\n<hr><center>stgw</center>\r\n</body>\r\n</html>\r\n"
	a := Raw(status, "text/html", []byte(body))
	if a.err != nil {
		a.err = fmt.Errorf("HTTPStatus: HTTP status %d", status)
	}
	return a
}

// After returns a with its answer (or its reset) held back for d of real
// time. Work the answer does (Process, PayThenDrop, Processing) happens
// when the request arrives: if the client gives up first, the work is done
// and the answer lost. A delayed handler ends early when the client goes
// away or the Server closes.
func (a Answer) After(d time.Duration) Answer {
	if d < 0 && a.err == nil {
		a.err = errors.New("After: negative delay")
	}
	a.delay = d
	return a
}

// Rewrite returns a with edit applied to the fields of its XML answer
// before it is written: change, add or delete fields to forge an answer
// (a SUCCESS echoing another amount, a missing send_listid, ...). The
// ledger is not changed: with Process, the packet is paid as the fake's
// rules say, whatever the forged answer claims. Fields keep their order;
// added ones follow in name order. Only answers written as XML (Process,
// Processing, ResultFail, ReturnFail) can be rewritten.
func (a Answer) Rewrite(edit func(fields map[string]string)) Answer {
	switch {
	case a.err != nil:
	case edit == nil:
		a.err = errors.New("Rewrite: nil func")
	case a.kind == kindRaw || a.kind == kindDrop || a.kind == kindPayThenDrop:
		a.err = errors.New("Rewrite: " + a.String() + " writes no XML answer")
	}
	a.rewrite = edit
	return a
}

// String describes the answer, e.g. "ResultFail(SYSTEMERROR)" or
// "Process.After(3s)"; it is what Request.Injected records.
func (a Answer) String() string {
	var s string
	switch a.kind {
	case kindProcess:
		s = "Process"
	case kindProcessing:
		s = "Processing"
	case kindPayThenDrop:
		s = "PayThenDrop"
	case kindDrop:
		s = "Drop"
	case kindFail:
		s = "ResultFail(" + a.code + ")"
		if a.returnFail {
			s = "ReturnFail(" + a.code + ")"
		}
	case kindRaw:
		s = "Raw(" + strconv.Itoa(a.status) + ")"
	default:
		return "invalid Answer"
	}
	if a.rewrite != nil {
		s += ".Rewrite"
	}
	if a.delay > 0 {
		s += ".After(" + a.delay.String() + ")"
	}
	return s
}

func (a Answer) check() error {
	if a.kind == kindInvalid {
		return errors.New("the zero Answer (build one with Process, ResultFail, Raw or Drop)")
	}
	return a.err
}

// A Reactor sees a request the Server decoded (Fields nil when the body is
// not valid XML) and may answer it instead of the fake: it returns the
// Answer and true, or false to leave the request to the next reactor and
// then to the fake's rules. Reactors run in the order they were added,
// after queued and random injections, without the Server's lock held, so
// they may call the Server's methods (Packets, Inject, ...). Like pstest's
// reactors they are the hook for everything injection by count or
// probability cannot say: answers that depend on the request, on the
// ledger or on how many requests came before.
type Reactor func(req Request) (Answer, bool)

type queued struct {
	ep   Endpoint
	a    Answer
	left int
}

type randomAnswer struct {
	ep Endpoint
	a  Answer
	p  float64
}

type reactor struct {
	ep Endpoint
	r  Reactor
}

// injections is the Server's injection state; state.mu guards it.
type injections struct {
	queue    []queued
	random   []randomAnswer
	reactors []reactor
}

// Inject makes the next n requests to ep (AnyEndpoint: to any of the four)
// get a instead of the fake's own answer. Queued answers are used first in,
// first out, before any random answer or reactor. It returns an error, and
// queues nothing, for an invalid endpoint, answer or count (n < 1).
func (s *Server) Inject(ep Endpoint, a Answer, n int) error {
	if err := checkInjection(ep, a); err != nil {
		return fmt.Errorf("redpacktest: Inject: %w", err)
	}
	if n < 1 {
		return fmt.Errorf("redpacktest: Inject: count %d, want at least 1", n)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.inj.queue = append(s.st.inj.queue, queued{ep, a, n})
	return nil
}

// InjectRandom makes each request to ep that no queued answer takes get a
// with probability p (0 ≤ p ≤ 1), drawn from the seeded source (WithSeed).
// Several random answers are mutually exclusive: one uniform draw per
// request is compared with the cumulative probabilities of the answers for
// its endpoint in registration order, so each happens with exactly its p.
// It returns an error, and registers nothing, for an invalid endpoint,
// answer or probability, or when the probabilities for one endpoint would
// add up to more than 1.
func (s *Server) InjectRandom(ep Endpoint, a Answer, p float64) error {
	if err := checkInjection(ep, a); err != nil {
		return fmt.Errorf("redpacktest: InjectRandom: %w", err)
	}
	if !(p >= 0 && p <= 1) {
		return fmt.Errorf("redpacktest: InjectRandom: probability %v outside [0, 1]", p)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for _, op := range endpoints {
		if !ep.matches(op) {
			continue
		}
		sum := p
		for _, r := range s.st.inj.random {
			if r.ep.matches(op) {
				sum += r.p
			}
		}
		if sum > 1+1e-9 {
			return fmt.Errorf("redpacktest: InjectRandom: probabilities for %s add up to %v, more than 1", op, sum)
		}
	}
	s.st.inj.random = append(s.st.inj.random, randomAnswer{ep, a, p})
	return nil
}

// AddReactor adds r for requests to ep (AnyEndpoint: all four); see
// Reactor. It returns an error for an invalid endpoint or a nil r.
func (s *Server) AddReactor(ep Endpoint, r Reactor) error {
	if !ep.valid() {
		return fmt.Errorf("redpacktest: AddReactor: unknown endpoint %q", ep)
	}
	if r == nil {
		return errors.New("redpacktest: AddReactor: nil Reactor")
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.inj.reactors = append(s.st.inj.reactors, reactor{ep, r})
	return nil
}

// ClearInjections removes every queued and random answer and every
// reactor: from now on the fake answers by its rules alone.
func (s *Server) ClearInjections() {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.inj = injections{}
}

func checkInjection(ep Endpoint, a Answer) error {
	if !ep.valid() {
		return fmt.Errorf("unknown endpoint %q", ep)
	}
	return a.check()
}

var endpoints = [...]Endpoint{EndpointSend, EndpointSendMiniProgram, EndpointSendGroup, EndpointQuery}

// pick takes the injected answer of one request to op; false for none.
// state.mu must be held.
func (st *state) pick(op Endpoint) (Answer, bool) {
	in := &st.inj
	for i := range in.queue {
		q := &in.queue[i]
		if !q.ep.matches(op) {
			continue
		}
		a := q.a
		if q.left--; q.left == 0 {
			in.queue = slices.Delete(in.queue, i, i+1)
		}
		return a, true
	}
	var cands []randomAnswer
	for _, r := range in.random {
		if r.ep.matches(op) {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return Answer{}, false
	}
	u := st.rng.Float64()
	cum := 0.0
	for _, r := range cands {
		cum += r.p
		if u < cum {
			return r.a, true
		}
	}
	return Answer{}, false
}

// reactorsFor returns the reactors for op. state.mu must be held.
func (st *state) reactorsFor(op Endpoint) []Reactor {
	var out []Reactor
	for _, r := range st.inj.reactors {
		if r.ep.matches(op) {
			out = append(out, r.r)
		}
	}
	return out
}

// rewriteFields applies edit to the answer's fields, keeping their order
// and appending added fields in name order.
func (an *answer) rewriteFields(edit func(map[string]string)) {
	m := make(map[string]string, len(an.fields))
	for _, f := range an.fields {
		m[f.k] = f.v
	}
	edit(m)
	out := an.fields[:0:0]
	for _, f := range an.fields {
		if v, ok := m[f.k]; ok {
			out = append(out, kv{f.k, v})
			delete(m, f.k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, kv{k, m[k]})
	}
	an.fields = out
}
