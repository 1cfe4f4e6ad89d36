// Command redpack sends and queries WeChat Pay v2 cash red packets from the
// command line, for operators and for programs written in other languages,
// and runs a fake WeChat Pay server for their tests.
//
// The help text ("redpack help") is the one description of the synopsis,
// the environment and the exit codes; the blocks below quote it, and a test
// (TestHelpIsTheSource) fails when they drift.
//
//	Usage:
//	  redpack send [-kind normal|mini|group] -openid OPENID -amount FEN
//	               -send-name TEXT -wishing TEXT -act-name TEXT -remark TEXT
//	               [-billno BILLNO] [-scene PRODUCT_n] [-client-ip IPV4]
//	               [-total-num N] [-json] [merchant flags]
//	  redpack query BILLNO [-kind normal|mini|group]
//	               [-openid OPENID -amount FEN [-total-num N]] [-json] [merchant flags]
//	  redpack resolve BILLNO -openid OPENID -amount FEN [-kind normal|mini|group]
//	               [-total-num N] [-timeout 5m] [-json] [merchant flags]
//	  redpack paysign -package PACKAGE [-json] [merchant flags]
//	  redpack fake [-addr 127.0.0.1:0] -dir DIR [-balance FEN]
//	  redpack help [COMMAND]
//
// send sends one red packet (-kind mini also prints the wx.sendBizRedPacket
// parameters for the package; -kind group uses sendgroupredpack, which
// WeChat Pay switched off on 2024-06-05). Without -billno a bill number is
// generated (it needs a node id: -node, REDPACK_NODE_ID, else the process ID
// modulo 100) and printed on stderr before anything is sent. query prints
// the record of a bill number (gethbinfo); with -openid and -amount it also
// judges whether the record is that payment's (Client.Check). resolve
// queries until the record settles the payment it is given (Client.Resolve)
// and refuses to run without -openid and -amount: a record of another
// payment under the same bill number must never read as paid. -kind mini
// makes query and resolve use the mini-program appid. paysign prints the
// wx.sendBizRedPacket parameters (timeStamp, nonceStr, package, signType,
// paySign) for a package returned by a mini-program send. fake runs the
// redpacktest fake server on a loopback address until SIGINT or SIGTERM,
// prints its URL and writes into DIR ca.pem, apiclient_cert.p12,
// apiclient_cert.pem, apiclient_key.pem and redpack.env, a file of export
// lines to source (key, bundle and redpack.env are 0600).
//
// # Merchant configuration
//
//	Environment (flags override it):
//	  REDPACK_MCH_ID             -mch-id        merchant ID
//	  REDPACK_APP_ID             -appid         Official Account appid
//	  REDPACK_MINI_APP_ID        -mini-appid    mini-program appid (-kind mini,
//	                                            paysign; default the appid)
//	  REDPACK_API_KEY            -api-key-file  API v2 key; the flag (or
//	                                            REDPACK_API_KEY_FILE) names a file
//	                                            holding it. The key is never accepted
//	                                            as a flag value and never printed.
//	  REDPACK_CERT_P12           -cert-p12      path of apiclient_cert.p12
//	  REDPACK_CERT_P12_PASSWORD                 its password (default: the mch ID)
//	  REDPACK_CERT_PEM           -cert-pem      path of apiclient_cert.pem
//	  REDPACK_KEY_PEM            -key-pem       path of apiclient_key.pem
//	  REDPACK_BASE_URL           -base-url      API host (default
//	                                            https://api.mch.weixin.qq.com)
//	  REDPACK_CA                 -ca            PEM file of a private CA to trust
//	                                            (the fake server's ca.pem)
//	  REDPACK_NODE_ID            -node          bill-number node id 0-99 (default:
//	                                            the process ID modulo 100); give
//	                                            concurrent senders distinct ids
//	  -attempts N, -retry-delay D   retry policy (same bill number and bytes on
//	                                every attempt); -attempt-timeout D per attempt
//
// The API key is never accepted as a flag value (it would show in ps) and is
// never printed, nor is the -api-key-file path (a key given there by mistake
// would be). paysign makes no network call but builds the same client, so
// it needs the same configuration.
//
// # Output
//
// Output is human-readable by default. With -json, stdout carries one JSON
// object whose field names are stable and follow the WeChat Pay wire names
// (mch_billno, send_listid, re_openid, total_amount in fen, status, hblist,
// ...), plus outcome (OK, UNKNOWN, PENDING, CONFLICT, FINAL, REJECTED,
// NOT_SENT), exit_code, next (what to do now), payment (query and resolve:
// the payment judged) and error (message; err_code, err_code_des,
// return_code, return_msg of a definite answer; last_answer, the codes of
// the last answer of a call whose outcome is unknown, which prove nothing;
// fields, naming each invalid wire field of a request refused by
// validation). A bad flag or configuration writes nothing to stdout, only a
// message to stderr (exit 2). Messages go to stderr.
//
// # Exit codes
//
//	Exit codes:
//	  0  send: sent. query, resolve: the record shows this payment paid (query
//	     only with -openid and -amount)
//	  1  send: final failure, nothing paid under this bill number; or rejected
//	     (SIGN_ERROR, ...), nothing paid by this request: after an unknown
//	     outcome, resolve the earlier send first.
//	     query, resolve: status FAILED, nothing paid under this bill number
//	  2  usage, configuration or validation error; nothing was sent
//	  3  outcome unknown or pending; the bill number is printed: run
//	     "redpack resolve BILLNO -openid OPENID -amount FEN", or send again with
//	     the same -billno, -openid and -amount. query, resolve: anything that
//	     does not settle the payment (not found, still sending, the query
//	     refused or not sent, a paid record queried without -openid and -amount)
//	  4  send: not sent, nothing reached WeChat Pay; sending again with the
//	     same -billno is safe
//	  5  conflict: the bill number belongs to another payment (send: FATAL_ERROR;
//	     query, resolve: the record contradicts -openid, -amount or -total-num).
//	     This payment was not paid under it: never send it under this bill
//	     number, and find out why two payments share it before using a new one
package main
