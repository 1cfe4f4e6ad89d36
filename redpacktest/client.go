package redpacktest

import (
	"time"

	"github.com/redpack-go/redpack"
)

// This file holds every use of package redpack's client API, so that a
// change of that API is one edit here.

// FastRetryPolicy is the retry policy of the clients NewClient and
// NewMiniProgramClient build: three attempts, 1–5 ms apart, so that an
// injected fault costs a test milliseconds instead of the production
// default's seconds. Against WeChat Pay keep the default (WeChat Pay asks
// for at least one second between re-sends of a bill number).
func FastRetryPolicy() redpack.RetryPolicy {
	return redpack.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
}

// Config returns a redpack.Config for the merchant: the PKCS#12 bundle
// (password left empty, so the client uses the mch_id), BaseURL = URL and
// RootCAs holding only the fake CA.
func (s *Server) Config() redpack.Config {
	return redpack.Config{
		MchID:   s.MchID(),
		AppID:   s.AppID(),
		APIKey:  s.APIKey(),
		PKCS12:  s.MerchantPKCS12(),
		BaseURL: s.URL(),
		RootCAs: s.RootCAs(),
	}
}

// MiniProgramConfig is Config with AppID set to the mini-program appid, for
// a Client that calls SendMiniProgram.
func (s *Server) MiniProgramConfig() redpack.Config {
	c := s.Config()
	c.AppID = s.MiniAppID()
	return c
}

// NewClient returns a redpack.Client for Config with fast retries
// (FastRetryPolicy) unless opts set another policy; opts apply after it.
// Like NewServer it panics when redpack.NewClient fails (an invalid
// option): it is a test helper.
func (s *Server) NewClient(opts ...redpack.Option) *redpack.Client {
	return mustClient(s.Config(), opts)
}

// NewMiniProgramClient is NewClient bound to the mini-program appid
// (MiniProgramConfig).
func (s *Server) NewMiniProgramClient(opts ...redpack.Option) *redpack.Client {
	return mustClient(s.MiniProgramConfig(), opts)
}

func mustClient(cfg redpack.Config, opts []redpack.Option) *redpack.Client {
	all := append([]redpack.Option{redpack.WithRetryPolicy(FastRetryPolicy())}, opts...)
	c, err := redpack.NewClient(cfg, all...)
	if err != nil {
		panic("redpacktest: NewClient: " + err.Error())
	}
	return c
}
