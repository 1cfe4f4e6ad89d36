package main

import (
	"bytes"
	"regexp"
	"testing"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	// The steps, in order, with the same bill number throughout.
	re := regexp.MustCompile(`(?s)` +
		`step 1: send bill (\d+); .*\n` +
		`\s+Send: outcome UNKNOWN, errors.Is\(err, ErrOutcomeUnknown\) = true, bill (\d+), 3 attempts\n.*` +
		`\s+ledger: 1 packet\(s\), 100 fen paid in total\n` +
		`step 2: .*\n` +
		`\s+Resolve: status SENT \(OK\): the red packet WAS paid, 100 fen, detail_id (\d+)\n` +
		`step 3: send again with the SAME bill number (\d+)\n` +
		`\s+Send: OK, send_listid (\d+) \(the same red packet: true\)\n` +
		`\s+ledger: 1 packet\(s\), 100 fen paid in total\n` +
		`result: ledger total unchanged at 100 fen; the user was paid exactly once\n$`)
	m := re.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output does not follow the steps:\n%s", out.String())
	}
	if m[1] != m[2] || m[1] != m[4] {
		t.Errorf("bill numbers differ: %q %q %q", m[1], m[2], m[4])
	}
	if m[3] != m[5] {
		t.Errorf("send_listid %s, detail_id %s", m[5], m[3])
	}
}
