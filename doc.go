/*
Package redpack pays WeChat Pay cash red packets (现金红包, merchant API v2)
from a Go backend: normal red packets (sendredpack), mini-program red packets
(sendminiprogramhb, with the parameters of wx.sendBizRedPacket), fission red
packets (sendgroupredpack, retired by WeChat Pay on 2024-06-05) and the query
of a red packet by its bill number (gethbinfo).

# Quick start

Build one Client per merchant and appid, once, and share it:

	var cfg redpack.Config
	cfg.MchID, cfg.AppID, cfg.APIKey = "1900000109", "wx8888888888888888", apiKey
	if err := cfg.LoadPKCS12File("apiclient_cert.p12"); err != nil { ... }
	client, err := redpack.NewClient(cfg)
	...
	res, err := client.Send(ctx, redpack.SendRequest{
		OpenID:   openID,
		Amount:   100, // fen: 1.00 yuan
		SendName: "商户名称",
		Wishing:  "恭喜发财",
		ActName:  "新年红包",
		Remark:   "备注",
	})

# Concurrency

A Client is safe for concurrent use by many goroutines. NewClient parses the
merchant certificate once and builds one transport with a connection pool
(WithMaxConns); every call reuses them. Signing takes no lock. WithRateLimit
turns bursts into waiting instead of FREQ_LIMIT answers (WeChat Pay allows 30
sends a second per merchant by default), and WithMaxConcurrent caps the calls
in flight.

NewClient reads the proxy settings of the environment (HTTPS_PROXY,
NO_PROXY) once, for the Client's host.

A Client is bound to one appid. A merchant with an Official Account and a
mini program derives the second Client from the first with ForAppID: the two
share the certificate, the connection pool, the bill-number generator and the
rate limiter (WeChat Pay's quota is per merchant), so the second costs one
small allocation:

	oa, err := redpack.NewClient(cfg)            // Official Account appid
	mini, err := oa.ForAppID("wxminiprogram...") // SendMiniProgram, BizRedPacket, its queries

# Idempotency and unknown outcomes

Every send has one bill number (mch_billno) for its whole life. Send fills
SendRequest.BillNo when it is empty (mch_id + date in China Standard Time +
node id + a millisecond logical clock; see WithNodeID), or use NewBillNo to
store the number before sending. The request is signed and encoded once, and
every retry replays the same bytes: WeChat Pay's send endpoints are
re-entrant, so the same bill number pays at most once.

An outcome the client could not see (a timeout or reset after the request was
written, a 5xx, SYSTEMERROR, PROCESSING, an answer it cannot decode, attempts
exhausted) is returned as an *UnknownOutcomeError matching
ErrOutcomeUnknown: never as a failure. The red packet may have been paid.
Resolve it before doing anything else with that payment:

	res, err := client.Send(ctx, req)
	switch redpack.Outcome(err) {
	case redpack.OutcomeOK:
		// paid: record res.SendListID
	case redpack.OutcomeUnknown, redpack.OutcomePending:
		rec, err := client.Resolve(ctx, req.BillNo) // or resend with the SAME bill number
		...
	case redpack.OutcomeNotSent:
		// nothing reached WeChat Pay: safe to send again with the same bill number
	case redpack.OutcomeFinal, redpack.OutcomeRejected:
		// not paid under this bill number: fix the cause
	}

Never send again under a new bill number while an outcome is unknown: that
pays twice if the first one went through. A NOT_FOUND answer from Query is
itself an unknown outcome (the send may still be in flight), not a failure.
After a FINAL answer, a new bill number is needed to pay again.

# Bill numbers

A generated bill number (Send with an empty BillNo, or NewBillNo) is

	mch_id (at most its last 10 characters) + yyyymmdd + NN + SSSSSSSS

28 characters for a 10-digit mch_id: the date is China Standard Time, NN the
node id (00–99, WithNodeID) and SSSSSSSS the millisecond of that day
(0–86,399,999) taken from a logical clock.

Collision analysis. The logical clock of a (mch_id, node) pair is one
process-wide counter in Unix milliseconds that only moves forward: each number
takes max(now, last+1). So within a process two numbers are never equal,
however many Clients share the merchant and node, whatever the goroutines do,
and across midnight (date and millisecond together are a one-to-one image of
the logical instant). Processes that send for the same merchant at the same
time are kept apart by distinct node ids: their NN digits differ. A restarted
process with the same node id starts from the wall clock again, so it cannot
repeat a number of its predecessor unless (a) the predecessor issued more than
1,000 numbers a second for long enough to run ahead of the wall clock and the
restart came before the wall clock caught up (at WeChat Pay's 30 sends a
second it never runs ahead), or (b) the wall clock was stepped back across the
restart. A merchant that needs more supplies its own BillNo.

A mch_id longer than 10 characters is cut to its last 10: the prefix only makes
numbers readable; uniqueness comes from date, node and millisecond, and a
merchant's numbers need only be unique within that merchant.

# Errors

Client-side refusals are *ValidationError (errors.Is(err, ErrInvalidRequest)),
listing every bad field by its wire name; nothing was sent. Transport
failures before the request reached a connection are *NotSentError
(ErrNotSent). WeChat Pay's answers are *APIError: errors.Is matches the
sentinel of the err_code (ErrNotEnough for NOTENOUGH, ErrSendNumLimit, ...)
and Class or Outcome gives the class (OK, UNKNOWN, PENDING, FINAL, REJECTED).
Every error returned after validation carries the bill number. err_code_des
and return_msg are for humans; branch on codes.

# Secrets

The API key lives only inside the signer closure; the certificate reaches TLS
through GetClientCertificate. Config and Client print with secrets redacted
under every fmt verb, errors never quote the key, the certificate password or
key material, and the logger (WithLogger) records op, bill number, attempt and
outcome only. One limit of fmt: it cannot call a method on an unexported
field, so a struct of yours holding a Config in an unexported field prints
the key; hold a *Client (or the Config in an exported field) instead.

# Testing with the fake

Package redpacktest is an in-process fake WeChat Pay server that enforces the
real rules (signature, mutual TLS, field limits, amounts, balance, daily
limits, rate, the bill-number ledger) and injects faults (SYSTEMERROR,
PROCESSING, 502, slow answers, resets, pay-then-drop). redpacktest.NewServer
gives a ready Client:

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
