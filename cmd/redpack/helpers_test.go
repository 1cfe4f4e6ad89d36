package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/internal/testcert"
	"github.com/redpack-go/redpack/redpacktest"
)

// markerKey is a valid API key whose appearance in any output is a leak.
const markerKey = "MARKERSECRETKEY0123456789abcdefX"

// env is a fake environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// with returns a copy of e with the given KEY=VALUE pairs set ("" deletes).
func (e env) with(kv ...string) env {
	out := make(env, len(e))
	for k, v := range e {
		out[k] = v
	}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// newFake starts a redpacktest server, writes its files as the fake command
// does and returns the server and the environment of its redpack.env.
func newFake(t *testing.T, opts ...redpacktest.Option) (*redpacktest.Server, env) {
	t.Helper()
	s := redpacktest.NewServer(opts...)
	t.Cleanup(s.Close)
	envPath, err := writeFakeFiles(t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	return s, readEnvFile(t, envPath)
}

// readEnvFile parses the export lines of a redpack.env.
func readEnvFile(t *testing.T, path string) env {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := env{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		if strings.HasPrefix(v, "'") {
			v = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'"), `'\''`, "'")
		}
		e[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return e
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return "exit " + itoa(r.code) + "\n--- stdout\n" + r.stdout + "--- stderr\n" + r.stderr
}

func runCmd(t *testing.T, e env, args ...string) result {
	t.Helper()
	return runCtx(t, t.Context(), e, args...)
}

func runCtx(t *testing.T, ctx context.Context, e env, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, e.get, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not the expected JSON: %v\n%s", err, r)
	}
	return v
}

// testOpenID is the recipient of sendArgs.
const testOpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

// sendArgs are the arguments of a valid normal send; extra flags are
// appended.
func sendArgs(billNo string, extra ...string) []string {
	a := []string{"send", "-openid", testOpenID, "-amount", "100",
		"-send-name", "红包商户", "-wishing", "恭喜发财", "-act-name", "新年红包", "-remark", "测试"}
	if billNo != "" {
		a = append(a, "-billno", billNo)
	}
	return append(a, extra...)
}

// inject makes the next n requests to any endpoint get a.
func inject(t *testing.T, s *redpacktest.Server, a redpacktest.Answer, n int) {
	t.Helper()
	if err := s.Inject(redpacktest.AnyEndpoint, a, n); err != nil {
		t.Fatal(err)
	}
}

func systemError() redpacktest.Answer { return redpacktest.ResultFail("SYSTEMERROR") }

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\n%s", r.code, code, r)
	}
}

// paySign recomputes the wx.sendBizRedPacket signature independently.
func paySign(appID, key string, b redpack.BizRedPacket) string {
	sum := md5.Sum([]byte("appId=" + appID + "&nonceStr=" + b.NonceStr + "&package=" + b.Package +
		"&timeStamp=" + b.TimeStamp + "&key=" + key))
	return hex.EncodeToString(sum[:])
}

// closedURL returns an https URL on loopback where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	addr, err := testcert.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	return "https://" + addr
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
