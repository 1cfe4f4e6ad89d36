// Package redpacktest is an in-process fake of WeChat Pay's v2 cash red
// packet API, for testing code that uses package redpack. It is shaped like
// net/http/httptest and pubsub's pstest: NewServer starts it on a loopback
// port with its own certificates, Close stops it, methods show what it
// received and what it paid, and any answer can be injected per endpoint.
//
// # Quick start
//
//	srv := redpacktest.NewTestServer(t)                // closed when the test ends
//	client := srv.NewClient(redpack.WithNodeID(1))     // fast retries: see FastRetryPolicy
//	srv.Inject(redpacktest.EndpointSend, redpacktest.PayThenDrop(), 1)
//	billNo, _ := client.NewBillNo()
//	req := redpack.SendRequest{Packet: redpack.Packet{BillNo: billNo, OpenID: "o1", Amount: 100,
//		SendName: "Shop", Wishing: "Thanks", ActName: "Promo", Remark: "-"}}
//	_, err := client.Send(ctx, req)   // UNKNOWN: paid, answer lost
//	rec, err := client.Resolve(ctx, req.Payment()) // SENT
//	fmt.Println(srv.TotalPaid(), srv.Packets())    // 100, one packet
//
// # Construction and options
//
// New(opts...) returns an error when an option is given a value it cannot
// use (a negative balance, a non-loopback address, a nil clock, an API key
// that is not 32 characters, ...) or when the server cannot start.
// NewTestServer(t, opts...) is the test helper: it fails the test on such an
// error and closes the server in t.Cleanup. NewServer(opts...) keeps the
// httptest shape (no error result) and panics instead, like
// httptest.NewServer does when it cannot listen. Option names never repeat
// a client option: the fake's rate limit is WithFreqLimit (the client's
// limiter is redpack.WithRateLimit) and its clock WithServerClock (the
// client's is redpack.WithClock).
//
// The identity is read through methods (URL, MchID, AppID, MiniAppID,
// APIKey), never from fields a serving goroutine reads. The API key and the
// key material sit behind a function value, so neither a printed *Server
// (every verb prints a redacted summary) nor a printed copy of the Server
// value shows them.
//
// NewClient and NewMiniProgramClient return a redpack.Client wired to the
// fake with fast retries (FastRetryPolicy: three attempts 1–5 ms apart)
// unless the options give another policy, so that an injected fault costs a
// test milliseconds.
//
// Config returns the redpack.Config of the fake merchant (PKCS#12 bundle,
// BaseURL, a root pool with the fake CA); MiniProgramConfig and
// NewMiniProgramClient the same bound to the mini-program appid. The
// certificates are also available as PEM and PKCS#12 for tests of loading
// code and command-line tools.
//
// # What it models
//
//   - Transport: HTTPS only (HTTP/1.1, TLS 1.2+), POST only, the four paths
//     under /mmpaymkttransfers/ (others 404, other methods 405). A client
//     certificate issued by the fake CA is required at the handshake (no
//     certificate, or one from another CA, fails the handshake, which is
//     what CA_ERROR looks like to a client); a certificate whose subject CN
//     is not the request's mch_id is answered CA_ERROR.
//   - Body: a flat UTF-8 <xml> document, text or CDATA, at most 64 KiB;
//     malformed, nested, duplicated fields, another charset or an oversized
//     body answer XML_ERROR (return_code FAIL).
//   - Signature: MD5 over the received non-empty fields except sign, with
//     the API key, compared in constant time (hex case ignored); the fake
//     computes it itself, independently of package redpack's signer. A missing or
//     wrong sign, sign_type, or any field the endpoint does not document
//     (client_ip on group and mini-program sends, risk_info and
//     consume_mch_id on mini-program sends, anything extra on gethbinfo)
//     answers SIGN_ERROR (return_code FAIL).
//   - Parameters: mch_id must be the merchant's; wxappid the Official
//     Account appid (sendredpack, sendgroupredpack) or the mini-program
//     appid (sendminiprogramhb); gethbinfo's appid either of them. Missing
//     required fields and byte-length limits (UTF-8 bytes, "≤ n"),
//     mch_billno ≤ 28 of [0-9A-Za-z], nonce_str ≤ 32, client_ip dotted IPv4,
//     total_num 1 (normal, mini) or ≥ 3 (group), amt_type ALL_RAND,
//     notify_way MINI_PROGRAM_JSAPI, scene_id PRODUCT_1..8, bill_type MCHT
//     answer PARAM_ERROR naming the field. sub_mch_id answers
//     ACCEPTMODE_ERROR and a msgappid other than the Official Account appid
//     MSGAPPID_ERROR (service-provider mode is not modelled).
//   - Amounts: 100–20000 fen without scene_id, 1–499900 with one; group
//     packets 100–20000 fen a share on average; outside, MONEY_LIMIT.
//   - Ledger per mch_billno: the same bill number with the same re_openid,
//     total_amount, total_num and endpoint gets the original success again,
//     byte for byte (PROCESSING while it is pending), and pays nothing
//     more; with any of those different, FATAL_ERROR (other
//     fields are not compared, as in the current error table). A bill that
//     failed finally (MONEY_LIMIT, SENDNUM_LIMIT, RCVDAMOUNT_LIMIT,
//     SENDAMOUNT_LIMIT, NOTENOUGH) answers SEND_FAILED afterwards and is
//     FAILED in gethbinfo; a bill refused before processing (SIGN_ERROR,
//     PARAM_ERROR, FREQ_LIMIT, API_METHOD_CLOSED, ...) leaves no trace and
//     is NOT_FOUND.
//   - Limits, checked in this order: per openid and China Standard Time
//     calendar day, the packet count (SENDNUM_LIMIT) and the amount
//     (RCVDAMOUNT_LIMIT); the merchant's daily payout (SENDAMOUNT_LIMIT); the
//     balance (NOTENOUGH). Days follow the server clock (WithServerClock). A group
//     packet counts its whole total against the seed user.
//   - Rate: a sliding one-second window per endpoint on the server clock
//     (FREQ_LIMIT), counted after the signature check. With a frozen
//     injected clock the window never slides: turn it off with
//     WithFreqLimit(0) for long runs at one instant.
//   - gethbinfo: detail_id, status, send_type API, hb_type (mini-program
//     packets are NORMAL), total_num, total_amount, send_time
//     "yyyy-MM-dd HH:mm:ss" CST, wishing, remark, act_name, reason for
//     FAILED, refund_time and refund_amount after a refund, and hblist once
//     claimed. Status: SENDING while a PROCESSING packet is unsettled; SENT;
//     RECEIVED after Receive; RFUND_ING RefundAfter (24 h) after sending if
//     unclaimed, then REFUND RefundDuration (one hour, an assumption: the
//     real delay is undocumented) later, when the amount returns to the
//     balance. Time-driven transitions are computed lazily whenever the
//     ledger is looked at; the Server runs no timers.
//   - Answers: return_code SUCCESS with result_code FAIL, err_code and
//     err_code_des for business failures, echoing mch_billno, mch_id,
//     wxappid, re_openid and total_amount (gethbinfo: mch_billno and
//     mch_id); success carries a 30-digit send_listid, the echo fields and
//     send_time (yyyyMMddHHmmss CST), total_num for group packets and the
//     package (sendid=<64 hex>&ver=8&sign=<128 hex>&mchid=…&appid=…) for
//     mini-program packets. Answers carry no sign, and never the API key or
//     the request's sign.
//   - sendgroupredpack works by default; WithGroupRetired(true) answers
//     API_METHOD_CLOSED as the product switched off on 2024-06-05 (the real
//     answer is undocumented). Group shares are random (seeded), each
//     100–100000 fen; Receive claims the seed's share, ReceiveGroupShare the
//     others'.
//
// # Injection
//
// Like pstest, the fake can answer any request differently from its rules,
// per endpoint (EndpointSend, EndpointSendMiniProgram, EndpointSendGroup,
// EndpointQuery, or AnyEndpoint):
//
//   - Inject(ep, answer, n): the next n requests to ep, first in first out;
//   - InjectRandom(ep, answer, p): each request no queued answer took, with
//     probability p from the seeded source (WithSeed), several answers
//     mutually exclusive;
//   - AddReactor(ep, reactor): a func that sees the decoded Request and
//     answers it, or declines; reactors run after the queued and random
//     answers, without the Server's lock, in the order they were added;
//   - ClearInjections removes all three.
//
// Requests nobody injected an answer for get the fake's rules. The
// answers: Process (the rules), Processing (a new bill accepted as
// PROCESSING, settling later), PayThenDrop (pay, then reset the
// connection), Drop (reset before processing), ResultFail and ReturnFail
// (an err_code with result_code or return_code FAIL, nothing processed),
// Raw and HTTPStatus (any status and body), and on any of them After(d) (a
// delay) and, on XML answers, Rewrite (forge fields of the answer; the
// ledger keeps the truth). An invalid answer, count, probability or
// endpoint is an error from Inject, InjectRandom or AddReactor; nothing is
// registered.
//
// Requests records every request at its arrival with the server clock's
// time (count them per one-second window to measure a client's send
// rate), its endpoint, fields, TLS facts, what it was answered and which
// injection decided it; ClearRequests forgets them. Packets, Packet,
// Balance and TotalPaid show the ledger, which is the truth an unknown
// outcome must be reconciled with.
//
// # What it does not model
//
//   - Service-provider mode (sub_mch_id, msgappid other than the merchant's
//     appid, consume_mch_id funding from another merchant: accepted and
//     ignored), several merchants on one Server, and merchant-platform
//     settings beyond the limits above (scene configuration: any valid
//     scene_id is "opened"; risk control, NO_AUTH, ILLEGAL_APPID,
//     OPENID_ERROR: openids are not tied to appids).
//   - Sensitive-word replacement in texts, the 90-day/30-day onboarding
//     rule, the 30-day query window, historic rules (one packet per user per
//     minute, no sending at night), the per-share 1000-yuan bound of group
//     sends beyond the random split, and refunds of partially claimed group
//     packets.
//   - The exact texts of err_code_des and return_msg (they imitate the real
//     ones and are for humans), response signatures, the numeric err_code
//     seen in the official failure sample, and the backup host.
//   - The real network: latency, TLS session behaviour of the real servers,
//     DigiCert roots. The processing delay and refund timing are
//     configurable guesses, not measured values.
//   - WeChat's side of wx.sendBizRedPacket: the package is well-formed but
//     nothing verifies a paySign.
package redpacktest
