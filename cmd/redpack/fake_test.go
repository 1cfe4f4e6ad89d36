package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFakeFiles(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	dir := filepath.Dir(e[envCertP12])
	want := map[string]os.FileMode{fileCA: 0o644, fileP12: 0o600, fileCertPEM: 0o644, fileKeyPEM: 0o600, fileEnv: 0o600}
	for name, perm := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), perm)
		}
	}
	wantEnv := env{envMchID: s.MchID(), envAppID: s.AppID(), envMiniAppID: s.MiniAppID(), envAPIKey: s.APIKey(),
		envCertP12: filepath.Join(dir, fileP12), envBaseURL: s.URL(), envCA: filepath.Join(dir, fileCA)}
	for k, v := range wantEnv {
		if e[k] != v {
			t.Errorf("%s=%q, want %q", k, e[k], v)
		}
	}
	if len(e) != len(wantEnv) {
		t.Errorf("env %v", e)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(want) {
		t.Errorf("directory holds %d files, want %d (no temporary left)", len(ents), len(want))
	}

	// The file is usable by a POSIX shell's source.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command(sh, "-c", `. "$1" && env`, "sh", filepath.Join(dir, fileEnv))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), envCertPEM + "=/stale"}
	got, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	shellEnv := env{}
	for line := range strings.Lines(string(got)) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		if strings.HasPrefix(k, "REDPACK_") {
			shellEnv[k] = v
		}
	}
	if len(shellEnv) != len(wantEnv) {
		t.Errorf("sourced: %v", shellEnv)
	}
	for k, v := range wantEnv {
		if shellEnv[k] != v {
			t.Errorf("sourced %s=%q, want %q", k, shellEnv[k], v)
		}
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"abc":            "abc",
		"/tmp/x y/z":     "'/tmp/x y/z'",
		"it's":           `'it'\''s'`,
		"":               "''",
		"https://h:1/$x": "'https://h:1/$x'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestFakeCommand runs the fake subcommand as a process would, then sends
// through it with nothing but the files it wrote.
func TestFakeCommand(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "fake")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake", "-addr", "127.0.0.1:0", "-dir", dir, "-balance", "250"}, env{}.get, &stdout, &stderr)
	}()

	envPath := filepath.Join(dir, fileEnv)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(envPath); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("fake exited %d\n%s%s", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no redpack.env")
		}
	}
	e := readEnvFile(t, envPath)
	if !strings.HasPrefix(e[envBaseURL], "https://127.0.0.1:") || strings.HasSuffix(e[envBaseURL], ":0") {
		t.Errorf("base URL %q", e[envBaseURL])
	}

	wantCode(t, runCmd(t, e, sendArgs("FAKE1")...), exitOK)
	wantCode(t, runCmd(t, e, sendArgs("FAKE2", "-kind", "mini")...), exitOK)
	r := runCmd(t, e, append([]string{"query", "FAKE1", "-json"}, payment...)...)
	wantCode(t, r, exitOK)
	if out := decode[recordOutput](t, r); out.Record.Status != "SENT" {
		t.Errorf("query %+v", out.Record)
	}
	// -balance 250 fen: a third yuan is more than is left.
	r = runCmd(t, e, sendArgs("FAKE3", "-json")...)
	wantCode(t, r, exitFailed)
	if out := decode[sendOutput](t, r); out.Error == nil || out.Error.ErrCode != "NOTENOUGH" {
		t.Errorf("send over balance: %+v", out)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("fake exited %d\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fake did not stop")
	}
	if got := strings.TrimSpace(stdout.String()); got != e[envBaseURL] {
		t.Errorf("stdout %q, want the URL %q", got, e[envBaseURL])
	}
	if !strings.Contains(stderr.String(), "stopping") {
		t.Errorf("stderr\n%s", stderr.String())
	}
	// Stopped means stopped: nothing answers any more.
	// The query did not reach it: the red packet's outcome is unknown (3),
	// never "not sent" (4), which would read as "not paid".
	wantCode(t, runCmd(t, e, append([]string{"query", "FAKE1", "-attempts", "1"}, payment...)...), exitUnknown)
}
