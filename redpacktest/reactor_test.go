package redpacktest

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redpack-go/redpack"
)

// TestReactor: a reactor sees the decoded request and may answer instead
// of the fake; declining leaves the request to the next reactor and the
// fake's rules; queued injections come first.
func TestReactor(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	c := newTestClient(t, s, oneAttempt)
	ctx := context.Background()
	var seen atomic.Int64
	require.NoError(t, s.AddReactor(EndpointSend, func(req Request) (Answer, bool) {
		seen.Add(1)
		// A reactor may call the Server: no lock is held.
		if len(s.Packets()) >= 2 {
			return ResultFail("SENDAMOUNT_LIMIT"), true
		}
		if req.Fields["re_openid"] == "oBlocked" {
			return ResultFail("NO_AUTH"), true
		}
		return Answer{}, false
	}))
	var second atomic.Int64
	require.NoError(t, s.AddReactor(AnyEndpoint, func(req Request) (Answer, bool) {
		second.Add(1)
		if req.Endpoint == EndpointQuery && req.Fields["mch_billno"] == "REACTQ" {
			return ResultFail("SYSTEMERROR"), true
		}
		return Answer{}, false
	}))

	_, err := c.Send(ctx, sendReq(newBillNo(t, c), "oBlocked", 100))
	require.ErrorIs(t, err, redpack.ErrNoAuth)
	assert.Equal(t, int64(0), second.Load(), "the first reactor answered")
	_, err = c.Send(ctx, sendReq(newBillNo(t, c), "oFine", 100))
	require.NoError(t, err)
	_, err = c.Send(ctx, sendReq(newBillNo(t, c), "oFine2", 100))
	require.NoError(t, err)
	_, err = c.Send(ctx, sendReq(newBillNo(t, c), "oFine3", 100))
	require.ErrorIs(t, err, redpack.ErrSendAmountLimit, "the reactor reads the ledger")
	assert.Equal(t, int64(4), seen.Load())
	assert.Equal(t, int64(2), second.Load())

	// Queued injections come before reactors.
	mustInject(t, s, EndpointSend, ResultFail("FREQ_LIMIT"), 1)
	_, err = c.Send(ctx, sendReq(newBillNo(t, c), "oBlocked", 100))
	require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
	assert.Equal(t, int64(4), seen.Load(), "the reactor did not run for an injected request")

	_, err = c.Query(ctx, "REACTQ")
	require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
	reqs := s.Requests()
	assert.Equal(t, "ResultFail(SYSTEMERROR)", reqs[len(reqs)-1].Injected)
	assert.Equal(t, "SYSTEMERROR", reqs[len(reqs)-1].Answer)
	assert.Equal(t, int64(200), s.TotalPaid())

	s.ClearInjections()
	_, err = c.Send(ctx, sendReq(newBillNo(t, c), "oBlocked", 100))
	require.NoError(t, err, "ClearInjections removes reactors")
}

// TestReactorMisbehaves: a reactor that panics or returns an invalid
// Answer gets HTTP 500, recorded; the Server keeps serving.
func TestReactorMisbehaves(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	require.NoError(t, s.AddReactor(EndpointSend, func(req Request) (Answer, bool) {
		switch req.Fields["mch_billno"] {
		case "PANIC":
			panic("reactor bug")
		case "ZERO":
			return Answer{}, true
		}
		return Answer{}, false
	}))
	r := post(t, hc, s, EndpointSend, signed(sendFields(s, "PANIC"), s.APIKey()))
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Contains(t, string(r.body), "reactor bug")
	r = post(t, hc, s, EndpointSend, signed(sendFields(s, "ZERO"), s.APIKey()))
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Contains(t, string(r.body), "invalid Answer")
	r = post(t, hc, s, EndpointSend, signed(sendFields(s, "FINE"), s.APIKey()))
	assert.Equal(t, "SUCCESS", r.code())
	assert.Equal(t, []string{"HTTP 500", "HTTP 500", "SUCCESS"}, answers(s, EndpointSend))
}

// TestReactorSeesUndecodableBody: Fields is nil, Body is the raw bytes.
func TestReactorSeesUndecodableBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	got := make(chan Request, 1)
	require.NoError(t, s.AddReactor(EndpointQuery, func(req Request) (Answer, bool) {
		got <- req
		return Answer{}, false
	}))
	r := post(t, hc, s, EndpointQuery, []byte("<xml><a>"))
	assert.Equal(t, "XML_ERROR", r.code(), "the fake's rules answer what the reactor declined")
	req := <-got
	assert.Nil(t, req.Fields)
	assert.Equal(t, "<xml><a>", string(req.Body))
	assert.Equal(t, EndpointQuery, req.Endpoint)
}
