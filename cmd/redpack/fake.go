package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/redpack-go/redpack/redpacktest"
)

const fakeSynopsis = "redpack fake [-addr 127.0.0.1:0] -dir DIR [-balance FEN]"

// Files written by fake into its directory.
const (
	fileCA      = "ca.pem"
	fileP12     = "apiclient_cert.p12"
	fileCertPEM = "apiclient_cert.pem"
	fileKeyPEM  = "apiclient_key.pem"
	fileEnv     = "redpack.env"
)

// runFake runs a redpacktest server until ctx ends (SIGINT or SIGTERM in
// main), after writing its certificates and redpack.env into -dir.
func runFake(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("fake", fakeSynopsis, stderr)
	addr := fs.String("addr", "127.0.0.1:0", "`address` to listen on (port 0: any free port)")
	dir := fs.String("dir", "", "`directory` for ca.pem, apiclient_cert.p12, apiclient_cert.pem, apiclient_key.pem and redpack.env (created if missing)")
	balance := fs.Int64("balance", redpacktest.DefaultBalance, "merchant balance in `fen`")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "redpack fake: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	if *dir == "" {
		fmt.Fprintf(stderr, "redpack fake: -dir is required\nUsage: %s\n", fakeSynopsis)
		return exitUsage
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || !isLoopbackHost(host) {
		fmt.Fprintf(stderr, "redpack fake: -addr must be a loopback host:port such as 127.0.0.1:0, not %q\n", *addr)
		return exitUsage
	}
	opts := []redpacktest.Option{redpacktest.WithAddr(*addr)}
	if *balance < 0 {
		fmt.Fprintf(stderr, "redpack fake: -balance must not be negative, not %d\n", *balance)
		return exitUsage
	}
	opts = append(opts, redpacktest.WithBalance(*balance))
	s, err := redpacktest.New(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "redpack fake: %v\n", err)
		return exitInternal
	}
	defer s.Close()
	envPath, err := writeFakeFiles(*dir, s)
	if err != nil {
		fmt.Fprintf(stderr, "redpack fake: %v\n", err)
		return exitInternal
	}
	fmt.Fprintln(stdout, s.URL())
	fmt.Fprintf(stderr, "redpack fake: fake WeChat Pay server on %s (merchant %s, appid %s, mini-program appid %s); no money moves\n", s.URL(), s.MchID(), s.AppID(), s.MiniAppID())
	fmt.Fprintf(stderr, "redpack fake: environment in %s; use it with: . %s\n", envPath, shellQuote(envPath))
	fmt.Fprintln(stderr, "redpack fake: stop with Ctrl-C (SIGINT) or SIGTERM")
	<-ctx.Done()
	fmt.Fprintln(stderr, "redpack fake: stopping")
	return exitOK
}

// isLoopbackHost reports whether host is localhost or a loopback IP: the
// fake's server certificate covers nothing else.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeFakeFiles writes the fake server's certificates and redpack.env into
// dir and returns the path of redpack.env. The key, the PKCS#12 bundle and
// the environment file (it holds the API key) are private (0600).
// redpack.env is written last and atomically: once it exists, everything
// it names is in place.
func writeFakeFiles(dir string, s *redpacktest.Server) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{fileCA, s.CACertPEM(), 0o644},
		{fileP12, s.MerchantPKCS12(), 0o600},
		{fileCertPEM, s.MerchantCertPEM(), 0o644},
		{fileKeyPEM, s.MerchantKeyPEM(), 0o600},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	b.WriteString("# Environment of a redpack fake server (redpacktest); no money moves.\n")
	b.WriteString("# Use it with: . " + shellQuote(filepath.Join(dir, fileEnv)) + "\n")
	b.WriteString("unset " + envCertPEM + " " + envKeyPEM + " " + envCertP12Pass + " " + envAPIKeyFile + "\n")
	for _, kv := range [][2]string{
		{envMchID, s.MchID()},
		{envAppID, s.AppID()},
		{envMiniAppID, s.MiniAppID()},
		{envAPIKey, s.APIKey()},
		{envCertP12, filepath.Join(dir, fileP12)},
		{envBaseURL, s.URL()},
		{envCA, filepath.Join(dir, fileCA)},
	} {
		b.WriteString("export " + kv[0] + "=" + shellQuote(kv[1]) + "\n")
	}
	envPath := filepath.Join(dir, fileEnv)
	if err := writeFileAtomic(envPath, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	return envPath, nil
}

// writeFileAtomic writes data to a temporary file in the same directory and
// renames it into place.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if err := f.Chmod(perm); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
	}
	return werr
}

// shellQuote quotes s for a POSIX shell: single quotes, with each ' written
// as '\”. Plain words are left alone.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+,=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
