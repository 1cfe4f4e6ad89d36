// Command redpack sends and queries WeChat Pay v2 cash red packets from the
// command line, for operators and for programs written in other languages,
// and runs a fake WeChat Pay server for their tests.
//
// Usage:
//
//	redpack send [-kind normal|mini|group] -openid OPENID -amount FEN
//	             -send-name TEXT -wishing TEXT -act-name TEXT -remark TEXT
//	             [-billno BILLNO] [-scene PRODUCT_n] [-client-ip IPV4]
//	             [-total-num N] [-json] [merchant flags]
//	redpack query BILLNO [-json] [merchant flags]
//	redpack resolve BILLNO [-timeout 5m] [-json] [merchant flags]
//	redpack paysign -package PACKAGE [-json] [merchant flags]
//	redpack fake [-addr 127.0.0.1:0] -dir DIR [-balance FEN]
//	redpack help
//
// send sends one red packet (-kind mini also prints the wx.sendBizRedPacket
// parameters for the package; -kind group uses sendgroupredpack, which
// WeChat Pay switched off on 2024-06-05). Without -billno a bill number is
// generated and printed before anything is sent. query prints the record of
// a bill number (gethbinfo); resolve queries until the record says whether
// the red packet went out. paysign prints the wx.sendBizRedPacket
// parameters (timeStamp, nonceStr, package, signType, paySign) for a
// package returned by a mini-program send. fake runs the redpacktest fake
// server on a loopback address until SIGINT or SIGTERM, prints its URL and
// writes into DIR ca.pem, apiclient_cert.p12, apiclient_cert.pem,
// apiclient_key.pem and redpack.env, a file of export lines to source
// (key, bundle and redpack.env are 0600). It exits 0 when stopped, 1 when
// the server cannot start.
//
// # Merchant configuration
//
// Flags override the environment:
//
//	REDPACK_MCH_ID             -mch-id        merchant ID
//	REDPACK_APP_ID             -appid         Official Account appid
//	REDPACK_MINI_APP_ID        -mini-appid    mini-program appid (send -kind mini, paysign; default the appid)
//	REDPACK_API_KEY            -api-key-file  API v2 key (the flag, or REDPACK_API_KEY_FILE, names a file holding it)
//	REDPACK_CERT_P12           -cert-p12      path of apiclient_cert.p12
//	REDPACK_CERT_P12_PASSWORD                 its password (default: the merchant ID)
//	REDPACK_CERT_PEM           -cert-pem      path of apiclient_cert.pem
//	REDPACK_KEY_PEM            -key-pem       path of apiclient_key.pem
//	REDPACK_BASE_URL           -base-url      API host (default https://api.mch.weixin.qq.com)
//	REDPACK_CA                 -ca            PEM file of a private CA to trust (the fake server's ca.pem)
//	REDPACK_NODE_ID            -node          bill-number node id 0-99 (default: the process ID modulo 100)
//
// The API key is never accepted as a flag value (it would show in ps) and is
// never printed. -attempts and -retry-delay set the retry policy (same bill
// number, same bytes on every attempt); -attempt-timeout bounds one attempt.
// paysign makes no network call but builds the same client, so it needs the
// same configuration.
//
// # Output
//
// Output is human-readable by default. With -json, stdout carries one JSON
// object whose field names are stable and follow the WeChat Pay wire names
// (mch_billno, send_listid, re_openid, total_amount in fen, status, hblist,
// ...), plus outcome (OK, UNKNOWN, PENDING, FINAL, REJECTED, NOT_SENT),
// exit_code, next (what to do now) and error (message, err_code,
// err_code_des, and for a request refused by validation, fields naming each
// invalid wire field). A bad flag or configuration writes nothing to stdout,
// only a message to stderr (exit 2). Messages go to stderr.
//
// # Exit codes
//
//	0  sent / ok (query and resolve: the red packet was paid)
//	1  send: final failure or rejected; query and resolve: status FAILED
//	2  usage, configuration or validation error; nothing was sent
//	3  outcome unknown or pending: the bill number is printed; run
//	   redpack resolve BILLNO, or send again with the same -billno.
//	   query and resolve: anything but a paid or FAILED record (not
//	   found, still sending, the query refused or not sent)
//	4  send: not sent, nothing reached WeChat Pay; sending again with the
//	   same -billno is safe
package main
