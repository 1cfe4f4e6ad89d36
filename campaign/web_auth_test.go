package campaign

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testToken = "tok-3f9a1c-web-test"

// everyPath is one request per route of the handler, and some that match
// none.
var everyPath = []struct{ method, path string }{
	{"GET", "/"},
	{"GET", "/campaigns/spring-2026"},
	{"GET", "/campaigns/spring-2026/rows?q=k1"},
	{"POST", "/campaigns/spring-2026/pause"},
	{"POST", "/campaigns/spring-2026/resume"},
	{"GET", "/api/campaigns"},
	{"GET", "/api/campaigns/spring-2026"},
	{"GET", "/api/campaigns/spring-2026/rows?q=k1"},
	{"GET", "/metrics"},
	{"GET", "/riverui/"},
	{"GET", "/riverui"},
	{"GET", "/riverui/api/states"},
	{"POST", "/riverui/api/jobs/cancel"},
	{"GET", "/static/app.js"},
	{"GET", "/no/such/path"},
	{"HEAD", "/"},
	{"PUT", "/campaigns/spring-2026/pause"},
	{"DELETE", "/riverui/api/jobs"},
}

func TestWebTokenRequiredOnEveryPath(t *testing.T) {
	t.Parallel()
	src, h := newMemHandler(t, HandlerOptions{Token: testToken})
	bad := []map[string]string{
		nil,
		{"Authorization": "Bearer wrong"},
		{"Authorization": "Bearer " + testToken + "x"},
		{"Authorization": "Bearer " + testToken[:len(testToken)-1]},
		{"Authorization": "Basic " + testToken},
		{"Authorization": "Bearer"},
		{"Cookie": tokenCookie + "=wrong"},
		{"Cookie": "other=" + testToken},
	}
	for _, p := range everyPath {
		for _, hdr := range bad {
			w := do(h, p.method, p.path, hdr, "")
			assert.Equal(t, http.StatusUnauthorized, w.Code, "%s %s %v", p.method, p.path, hdr)
			assert.NotContains(t, w.Body.String(), "riverui GET")
			assert.NotContains(t, w.Body.String(), "redpack_campaign")
		}
		// A wrong ?token= is refused too, and a right one in a POST's query is
		// not accepted (it would be a cross-site link).
		w := do(h, p.method, withQuery(p.path, "token=wrong"), nil, "")
		assert.Equal(t, http.StatusUnauthorized, w.Code, "%s %s ?token=wrong", p.method, p.path)
		if p.method != "GET" && p.method != "HEAD" {
			w := do(h, p.method, withQuery(p.path, "token="+testToken), nil, "")
			assert.Equal(t, http.StatusUnauthorized, w.Code, "%s %s ?token=right", p.method, p.path)
		}
	}
	assert.Empty(t, src.actions(), "no request without the token changed anything")

	// The Bearer header opens every path.
	for _, p := range everyPath {
		w := do(h, p.method, p.path, map[string]string{"Authorization": "Bearer " + testToken, "Sec-Fetch-Site": "same-origin"}, "")
		assert.NotEqual(t, http.StatusUnauthorized, w.Code, "%s %s with Bearer", p.method, p.path)
	}
	w := do(h, "GET", "/metrics", map[string]string{"Authorization": "bearer  " + testToken}, "")
	assert.Equal(t, 200, w.Code, "scheme is case-insensitive")
}

func withQuery(path, q string) string {
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}

func TestWebTokenQueryBecomesCookie(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/admin"} {
		_, h := newMemHandler(t, HandlerOptions{Token: testToken, Prefix: prefix})
		w := do(h, "GET", prefix+"/campaigns/spring-2026/rows?q=k1&token="+testToken, nil, "")
		require.Equal(t, http.StatusSeeOther, w.Code)
		assert.Equal(t, prefix+"/campaigns/spring-2026/rows?q=k1", w.Header().Get("Location"), "the token leaves the URL")
		res := http.Response{Header: w.Header()}
		cookies := res.Cookies()
		require.Len(t, cookies, 1)
		c := cookies[0]
		assert.Equal(t, tokenCookie, c.Name)
		assert.Equal(t, testToken, c.Value)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
		assert.Equal(t, prefix+"/", c.Path)

		w = do(h, "GET", prefix+"/campaigns/spring-2026", map[string]string{"Cookie": c.String()}, "")
		assert.Equal(t, 200, w.Code)
		w = do(h, "GET", prefix+"/riverui/", map[string]string{"Cookie": tokenCookie + "=" + testToken}, "")
		assert.Equal(t, 200, w.Code)

		// Opening the printed URL again, with the cookie already set, still
		// takes the token out of the URL.
		for _, hdr := range []map[string]string{{"Cookie": c.String()}, {"Authorization": "Bearer " + testToken}} {
			w = do(h, "GET", prefix+"/?token="+testToken, hdr, "")
			require.Equal(t, http.StatusSeeOther, w.Code, "%v", hdr)
			assert.Equal(t, prefix+"/", w.Header().Get("Location"))
		}
	}
}

// TestWebTokenNeverShown: whichever way the token comes (Bearer, cookie,
// ?token=), no answer's body or headers other than the Set-Cookie that
// stores it, and no line of the handler's log, carry it.
func TestWebTokenNeverShown(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer // do serves one request at a time
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, h := newMemHandler(t, HandlerOptions{Token: testToken, Logger: logger})
	for _, p := range everyPath {
		for _, hdr := range []map[string]string{
			{"Authorization": "Bearer " + testToken},
			{"Cookie": tokenCookie + "=" + testToken},
			{}, // ?token= below
		} {
			target := p.path
			if len(hdr) == 0 {
				target = withQuery(p.path, "token="+testToken)
			}
			hdr["Sec-Fetch-Site"] = "same-origin"
			w := do(h, p.method, target, hdr, "")
			assert.NotContains(t, w.Body.String(), testToken, "%s %s body", p.method, target)
			for k, vs := range w.Header() {
				if k == "Set-Cookie" {
					continue
				}
				for _, v := range vs {
					assert.NotContains(t, v, testToken, "%s %s header %s", p.method, target, k)
				}
			}
		}
	}
	assert.Contains(t, logs.String(), "pause", "the actions were logged")
	assert.NotContains(t, logs.String(), testToken)
}

// The token does not replace cross-origin protection: a cross-site POST
// carrying the cookie (a browser would attach it if it were not SameSite)
// is still refused.
func TestWebCrossSitePostWithTokenRefused(t *testing.T) {
	t.Parallel()
	src, h := newMemHandler(t, HandlerOptions{Token: testToken})
	w := do(h, "POST", "/campaigns/spring-2026/pause", map[string]string{
		"Cookie": tokenCookie + "=" + testToken, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example",
	}, "reason=x")
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Empty(t, src.actions())

	w = do(h, "POST", "/campaigns/spring-2026/pause", map[string]string{
		"Cookie": tokenCookie + "=" + testToken, "Sec-Fetch-Site": "same-origin",
	}, "reason=x")
	assert.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, []string{"spring-2026:pause"}, src.actions())
}

func TestNewToken(t *testing.T) {
	t.Parallel()
	a, err := NewToken()
	require.NoError(t, err)
	b, err := NewToken()
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.Len(t, a, 43)
	assert.NotContains(t, a, "/")
}

func TestTokenGuardEmptyNeverMatches(t *testing.T) {
	t.Parallel()
	g := newTokenGuard(testToken, "/", http.NotFoundHandler())
	assert.False(t, g.match(""))
	assert.True(t, g.match(testToken))
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/?token=", nil))
	assert.Equal(t, 401, w.Code)
}

// FuzzTokenGuard: whatever a request carries, it gets through only with the
// exact token, and the guard never panics.
func FuzzTokenGuard(f *testing.F) {
	f.Add("Bearer "+testToken, "", "")
	f.Add("bearer  "+testToken+" ", "x", "token=x")
	f.Add("Basic abc", testToken, "")
	f.Add("", "", "token="+testToken)
	f.Add("Bearer", "\x00", "token=%zz&token="+testToken)
	f.Fuzz(func(t *testing.T, auth, cookie, query string) {
		reached := false
		g := newTokenGuard(testToken, "/", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = query
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if cookie != "" {
			r.Header.Set("Cookie", tokenCookie+"="+cookie)
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		scheme, cred, _ := strings.Cut(auth, " ")
		bearerOK := strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(cred) == testToken
		c, _ := r.Cookie(tokenCookie)
		cookieOK := c != nil && c.Value == testToken
		queryOK := r.URL.Query().Get("token") == testToken
		switch {
		case reached && !bearerOK && !cookieOK:
			t.Fatalf("passed without the token: auth=%q cookie=%q query=%q", auth, cookie, query)
		case reached && queryOK:
			t.Fatalf("passed with the token still in the URL: query=%q", query)
		case !reached && !queryOK && (bearerOK || cookieOK):
			t.Fatalf("refused the token: auth=%q cookie=%q", auth, cookie)
		case !reached && queryOK && w.Code != http.StatusSeeOther:
			t.Fatalf("?token= did not redirect: %d", w.Code)
		case !reached && !queryOK && w.Code != http.StatusUnauthorized:
			t.Fatalf("answer %d, want 401", w.Code)
		}
	})
}
