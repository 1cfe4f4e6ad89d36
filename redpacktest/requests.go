package redpacktest

import (
	"crypto/x509"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Request is one request the Server received, as Requests returns it.
type Request struct {
	Path   string
	Method string
	// Endpoint is the endpoint of Path, "" for unknown paths.
	Endpoint Endpoint
	Header   http.Header
	// Body is the raw request body.
	Body []byte
	// Fields are the decoded fields; nil when the body is not valid XML.
	Fields map[string]string
	// Time is the server clock (WithServerClock, default time.Now) when
	// the request arrived, before anything was checked: to measure the
	// rate a client sends at, count Requests per one-second window of Time.
	Time time.Time
	// TLSVersion and PeerCertificates describe the client's TLS session:
	// the version negotiated and the certificate chain it presented.
	TLSVersion       uint16
	PeerCertificates []*x509.Certificate
	// Answer is what the request was answered: "SUCCESS" or the err_code
	// of an XML answer; "HTTP 404"/"HTTP 405" for a wrong path or method,
	// "HTTP <status>" for a Raw or HTTPStatus answer; "DROPPED" when the
	// connection was reset instead (Drop, PayThenDrop). "" while the
	// request is still being handled.
	Answer string
	// Injected names the injected answer or reactor's answer that decided
	// the request (Answer.String, e.g. "ResultFail(SYSTEMERROR)"); "" when
	// the fake answered by its rules.
	Injected string
}

func (r Request) clone() Request {
	r.Body = clone(r.Body)
	r.Header = r.Header.Clone()
	r.PeerCertificates = slices.Clone(r.PeerCertificates)
	r.Fields = maps.Clone(r.Fields)
	return r
}

// Requests returns a copy of every request received, in order of arrival.
func (s *Server) Requests() []Request {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := make([]Request, len(s.st.requests))
	for i, r := range s.st.requests {
		out[i] = r.clone()
	}
	return out
}

// ClearRequests forgets the requests received so far; the ledger is kept.
func (s *Server) ClearRequests() {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.requests = nil
}
