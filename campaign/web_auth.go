package campaign

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
)

// tokenCookie is the cookie that carries the access token after a first
// visit with ?token=.
const tokenCookie = "redpack_token"

// NewToken returns a fresh random access token for HandlerOptions.Token
// (256 bits, URL-safe).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenGuard lets a request through only when it carries the token: an
// "Authorization: Bearer" header, the cookie, or (on a GET or HEAD) a
// ?token= query parameter, which is swapped for the cookie and a redirect
// to the same URL without it, so the token does not linger in the address
// bar, history or Referer headers. Everything else gets 401, whatever the
// path. Comparison is in constant time over SHA-256 digests, so neither the
// token's bytes nor its length leak through timing.
type tokenGuard struct {
	sum        [sha256.Size]byte
	cookiePath string
	next       http.Handler
}

func newTokenGuard(token, cookiePath string, next http.Handler) *tokenGuard {
	return &tokenGuard{sum: sha256.Sum256([]byte(token)), cookiePath: cookiePath, next: next}
}

func (g *tokenGuard) match(s string) bool {
	if s == "" {
		return false
	}
	sum := sha256.Sum256([]byte(s))
	return subtle.ConstantTimeCompare(sum[:], g.sum[:]) == 1
}

func (g *tokenGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The query token is taken out first, even from a request that also
	// carries the cookie (the printed URL opened a second time): a request
	// with the right ?token= never reaches a page with the token in its URL.
	if q := r.URL.Query(); q.Has("token") && (r.Method == http.MethodGet || r.Method == http.MethodHead) && g.match(q.Get("token")) {
		http.SetCookie(w, &http.Cookie{
			Name:     tokenCookie,
			Value:    q.Get("token"),
			Path:     g.cookiePath,
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteStrictMode,
		})
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, cred, ok := strings.Cut(auth, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && g.match(strings.TrimSpace(cred)) {
			g.next.ServeHTTP(w, r)
			return
		}
	}
	if c, err := r.Cookie(tokenCookie); err == nil && g.match(c.Value) {
		g.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="redpack campaign"`)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "401 unauthorized: this server needs its access token (open the URL printed at start, with ?token=, or send Authorization: Bearer TOKEN)", http.StatusUnauthorized)
}

func webLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHostGuard refuses requests whose Host header is not a loopback
// name or address. A server without a token relies on being reachable only
// from this machine; checking Host as well stops a web page from reaching it
// through DNS rebinding (a name of the attacker's that resolves to
// 127.0.0.1).
func loopbackHostGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !webLoopbackHost(strings.Trim(host, "[]")) {
			http.Error(w, "403 forbidden: this server answers only to a loopback host name (localhost, 127.0.0.1, [::1])", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
