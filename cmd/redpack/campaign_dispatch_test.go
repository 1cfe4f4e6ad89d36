package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCampaignDispatch checks that every campaign sub-command is reachable
// from the binary's entry point (serve lives in its own file and was once
// missing from the switch).
func TestCampaignDispatch(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{"plan", "run", "status", "report", "verify", "retry", "serve"} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"campaign", sub, "-h"}, func(string) string { return "" }, &stdout, &stderr)
		if code != exitOK {
			t.Errorf("redpack campaign %s -h: exit %d, want %d; stderr:\n%s", sub, code, exitOK, stderr.String())
		}
		if strings.Contains(stderr.String(), "unknown command") {
			t.Errorf("redpack campaign %s is not dispatched:\n%s", sub, stderr.String())
		}
	}
}
