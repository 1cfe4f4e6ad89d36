/*
Package redpack pays WeChat Pay cash red packets (现金红包, merchant API v2)
from a Go backend: normal red packets (sendredpack), mini-program red packets
(sendminiprogramhb, with the parameters of wx.sendBizRedPacket), fission red
packets (sendgroupredpack, retired by WeChat Pay on 2024-06-05) and the query
of a red packet by its bill number (gethbinfo).

# Quick start

Build one Client per merchant and appid, once, and share it. Every payment
has a bill number the caller holds before sending (NewBillNo, or BillNoFor
from your own records); Send refuses a request without one. The snippets
below are the package's Examples (example_test.go), run by go test against
the fake server:

	client, err := redpack.NewClient(cfg, redpack.WithNodeID(1))
	if err != nil {
		return nil, err
	}
	billNo, err := client.NewBillNo() // store it with the payment before sending
	if err != nil {
		return nil, err
	}
	req := redpack.SendRequest{Packet: redpack.Packet{
		BillNo:   billNo,
		OpenID:   openID,
		Amount:   100, // fen: 1.00 yuan
		SendName: "红包示例商户",
		Wishing:  "恭喜发财",
		ActName:  "新年红包",
		Remark:   "示例",
	}}
	res, err := client.Send(ctx, req)

# Concurrency

A Client is safe for concurrent use by many goroutines. NewClient parses the
merchant certificate once and builds one transport with a connection pool
(WithMaxConns); every call reuses them. WithRateLimit turns bursts into
waiting instead of FREQ_LIMIT answers (WeChat Pay allows 30 sends a second per
merchant by default), WithMaxConcurrent caps the calls in flight, and
WithTransportWrapper wraps the transport for tracing or metrics.

NewClient reads the proxy settings of the environment (HTTPS_PROXY,
NO_PROXY) once, for the Client's host. The merchant certificate is offered to
the API host only, never to a proxy.

A Client is bound to one appid. A merchant with an Official Account and a
mini program derives the second Client from the first with ForAppID: the two
share the certificate, the connection pool, the bill-number generator and the
rate limiter (WeChat Pay's quota is per merchant):

	mini, err := client.ForAppID(miniAppID) // SendMiniProgram, BizRedPacket, their queries

# Idempotency and unknown outcomes

Every payment has one bill number (mch_billno) for its whole life, and a
Payment (bill number, openid, amount, share count) it stands for. The
request is signed and encoded once, and every retry replays the same bytes:
WeChat Pay's send endpoints are re-entrant, so the same bill number pays at
most once.

An outcome the client could not see (a timeout or reset after the request was
written, a 5xx, SYSTEMERROR, PROCESSING, an answer it cannot decode, attempts
exhausted) is an *UnknownOutcomeError, never a failure: the red packet may
have been paid. OutcomeOf says what an error means for the money:

	switch redpack.OutcomeOf(err) {
	case redpack.OutcomeOK:
		fmt.Println("paid, send_listid set:", res.SendListID != "")
	case redpack.OutcomeUnknown, redpack.OutcomePending:
		// Maybe paid: settle it against the payment, or resend req unchanged.
		rec, err := client.Resolve(ctx, req.Payment())
		fmt.Println("resolved:", rec != nil, redpack.OutcomeOf(err))
	case redpack.OutcomeConflict:
		// The bill number belongs to another payment: find out why.
		fmt.Println("conflict:", errors.Is(err, redpack.ErrConflict))
	default:
		// NOT_SENT: resend the same request; FINAL, REJECTED: not paid
		// under this bill number, fix the cause.
		fmt.Println("not paid:", err)
	}

Check and Resolve judge the bill number's record against the Payment: a
record settles a payment only when it is that payment's (amount, share count,
and the claimant where the record names one). A record of another payment is
OutcomeConflict, a query that fails or a record that contradicts itself is
OutcomeUnknown: neither ever reads as paid or as not paid. A record cannot
show the recipient of an unclaimed packet, so re-sending the identical
request (WeChat Pay compares openid and amount itself) settles an unknown
send more surely than a query.

Never send again under a new bill number while an outcome is unknown: that
pays twice if the first one went through. After a FINAL answer a new bill
number is needed to pay again.

# Bill numbers

NewBillNo makes time-based numbers (mch_id, CST date, node id, millisecond of
the day), at most one per millisecond per node and never ahead of the wall
clock; it needs WithNodeID, distinct for every process drawing numbers for the
merchant. BillNoFor and DeriveBillNo derive numbers from your own records
(an order id, a database sequence), the same in every process and never equal
to a time-based number. The formats and the collision analysis are beside
the code, in billno.go.

# Errors

Every error carries the bill number and its outcome (OutcomeOf, one
errors.As): *ValidationError (ErrInvalidRequest; every bad field by wire
name; nothing sent), *NotSentError (ErrNotSent), *UnknownOutcomeError
(ErrOutcomeUnknown; the last answer's codes in LastAnswer), *APIError
(FINAL, REJECTED or CONFLICT answers; errors.Is matches ErrNotEnough,
ErrSign, ErrConflict, ...) and *RecordError (a record that settles a payment
as FAILED or as another payment's). An unknown outcome never matches a FINAL,
REJECTED or CONFLICT sentinel. err_code_des and return_msg are for humans;
branch on codes.

# Secrets

The API key lives only inside the signer closure; the certificate reaches TLS
through GetClientCertificate. Config and Client print with secrets redacted
under every fmt verb, errors never quote the key, the certificate password,
key material or an invalid field's value, and the logger (WithLogger) records
op, bill number, attempt, outcome and the error's message, every unknown
outcome at Warn. One limit of fmt: it cannot call a method on an unexported
field, so a struct of yours holding a Config in an unexported field prints the
key; hold a *Client (or the Config in an exported field) instead.

# Testing with the fake

Package redpacktest is an in-process fake WeChat Pay server that enforces the
real rules (signature, mutual TLS, field limits, amounts, balance, daily
limits, rate, the bill-number ledger) and injects faults. It gives a ready
Client:

	srv := redpacktest.NewServer()
	defer srv.Close()
	client := srv.NewClient()

The redpack command (cmd/redpack) runs the same fake as a process for
backends in other languages.

# Product status

WeChat Pay retired sendgroupredpack on 2024-06-05, and closed sendredpack,
sendminiprogramhb and gethbinfo to new merchants (notice of 2026-06-18;
existing merchants keep them; the successor is the APIv3 transfer API). A
merchant may use red packets only 90 days after onboarding with 30 days of
normal trading; App (open platform) appids are refused (ILLEGAL_APPID). There
is no sandbox for red packets.
*/
package redpack
