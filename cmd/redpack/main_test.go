package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	_, e := newFake(t)
	tests := []struct {
		name string
		env  env
		args []string
		want string // in stderr
	}{
		{"no command", e, nil, "Usage:"},
		{"unknown command", e, []string{"pay"}, "unknown command"},
		{"bad kind", e, sendArgs("", "-kind", "lucky"), "-kind"},
		{"client-ip on mini", e, sendArgs("", "-kind", "mini", "-client-ip", "10.0.0.1"), "-client-ip"},
		{"total-num on normal", e, sendArgs("", "-total-num", "3"), "-total-num"},
		{"unknown flag", e, sendArgs("", "-colour", "red"), "colour"},
		{"bad amount", e, sendArgs("", "-amount", "1yuan"), "-amount"},
		{"stray argument", e, append(sendArgs(""), "extra"), "extra"},
		{"query without bill", e, []string{"query"}, "one bill number"},
		{"query two bills", e, []string{"query", "A", "B"}, "one bill number"},
		{"query bad bill", e, []string{"query", "no-such"}, "mch_billno"},
		{"missing config", env{}, sendArgs(""), "REDPACK_MCH_ID"},
		{"missing key", e.with(envAPIKey + "="), sendArgs(""), "REDPACK_API_KEY"},
		{"missing key file", e.with(envAPIKeyFile + "=/nonexistent/key"), sendArgs(""), "API key file"},
		{"both certificates", e.with(envCertPEM+"=/x", envKeyPEM+"=/y"), sendArgs(""), "not both"},
		{"bad CA", e.with(envCA + "=/nonexistent/ca.pem"), sendArgs(""), "CA file"},
		{"http base URL", e.with(envBaseURL + "=http://example.com"), sendArgs(""), "BaseURL"},
		{"negative attempts", e, sendArgs("", "-attempts", "-1"), "-attempts"},
		{"resolve timeout", e, []string{"resolve", "B1", "-openid", "o1", "-amount", "100", "-timeout", "0s"}, "-timeout"},
		{"resolve without payment", e, []string{"resolve", "B1"}, "-openid and -amount are required"},
		{"fake without dir", e, []string{"fake"}, "-dir"},
		{"fake not loopback", e, []string{"fake", "-dir", "x", "-addr", "0.0.0.0:0"}, "loopback"},
		{"fake negative balance", e, []string{"fake", "-dir", "x", "-balance", "-5"}, "-balance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tt.env, tt.args...)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q\n%s", tt.want, r)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := runCmd(t, env{}, "help")
	wantCode(t, r, exitOK)
	if r.stdout != usageText {
		t.Errorf("help prints something else than usageText:\n%s", r)
	}
	for _, want := range []string{"Exit codes:", "  0  send: sent", "  1  send: final failure, nothing paid under this bill number; or rejected", "  2  usage",
		"  3  outcome unknown or pending", "  4  send: not sent", "  5  conflict", "REDPACK_NODE_ID", "REDPACK_CERT_P12", "redpack fake",
		"redpack resolve BILLNO -openid OPENID -amount FEN"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
	for _, cmd := range []string{"send", "query", "resolve", "paysign", "fake"} {
		r := runCmd(t, env{}, cmd, "-h")
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stderr, "Usage: redpack "+cmd) || !strings.Contains(r.stderr, `See "redpack help"`) {
			t.Errorf("%s -h:\n%s", cmd, r)
		}
	}
	if r := runCmd(t, env{}, "help", "send"); r.code != exitOK || !strings.Contains(r.stderr, "-openid") {
		t.Errorf("help send:\n%s", r)
	}
	if r := runCmd(t, env{}, "help", "resolve"); r.code != exitOK || !strings.Contains(r.stderr, "-kind") || !strings.Contains(r.stderr, "-amount") {
		t.Errorf("help resolve:\n%s", r)
	}
}

// helpSection returns the block of usageText that starts with the line
// head and ends before the next blank line (or the end).
func helpSection(t *testing.T, head string) string {
	t.Helper()
	i := strings.Index(usageText, "\n"+head+"\n")
	if i < 0 {
		t.Fatalf("usageText has no %q section", head)
	}
	sec := usageText[i+1:]
	if j := strings.Index(sec, "\n\n"); j >= 0 {
		sec = sec[:j]
	}
	return sec
}

// normalize trims every line and drops Go comment markers, so that a
// section quoted in a doc comment or a Markdown code block compares equal.
func normalize(s string) string {
	var out []string
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		line = strings.TrimSpace(strings.TrimPrefix(line, "//"))
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// TestHelpIsTheSource: the environment table and the exit codes are
// written once, in usageText; the package documentation and the README
// quote them verbatim (issue 9 §6), and the exit code constants are the
// ones the text lists.
func TestHelpIsTheSource(t *testing.T) {
	t.Parallel()
	docGo, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, head := range []string{"Environment (flags override it):", "Exit codes:"} {
		sec := normalize(helpSection(t, head))
		for name, text := range map[string][]byte{"cmd/redpack/doc.go": docGo, "README.md": readme} {
			if !strings.Contains(normalize(string(text)), sec) {
				t.Errorf("%s does not quote the %q section of the help text verbatim; copy it from \"redpack help\":\n%s", name, head, helpSection(t, head))
			}
		}
	}
	codes := helpSection(t, "Exit codes:")
	for _, c := range []int{exitOK, exitFailed, exitUsage, exitUnknown, exitNotSent, exitConflict} {
		if !strings.Contains(codes, "\n  "+strconv.Itoa(c)+"  ") {
			t.Errorf("exit code %d is not described", c)
		}
	}
}

func TestKeyFlagGiven(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"-api-key", "x"}, true},
		{[]string{"--api-key=x"}, true},
		{[]string{"-key", "x"}, true},
		{[]string{"-api-key-file", "x"}, false},
		{[]string{"-key-pem", "x"}, false},
		{[]string{"--", "-api-key"}, false},
		{[]string{"api-key"}, false},
	} {
		if got := keyFlagGiven(tt.args); got != tt.want {
			t.Errorf("keyFlagGiven(%q) = %v", tt.args, got)
		}
	}
}
