package redpack

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// scanSamples are answers of every shape the scanner must read as
// encoding/xml does, plus shapes it refuses.
var scanSamples = []string{
	`<xml><return_code><![CDATA[SUCCESS]]></return_code><result_code>SUCCESS</result_code></xml>`,
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml>\n  <a><![CDATA[x]]]]><![CDATA[>y]]></a>\n  <b>1 &lt; 2 &amp;&amp; 3 &gt; 2 &quot;q&apos;</b>\n</xml>\n",
	"<xml><a>line1\r\nline2\rline3</a><b><![CDATA[c\r\nd]]></b></xml>",
	`<xml><a/><b></b><c >v</c ></xml>`,
	`<xml><hblist><hbinfo><openid>o1</openid><amount>100</amount><rcv_time>2018-01-23 13:45:31</rcv_time></hbinfo><hbinfo><openid>o2</openid><amount><![CDATA[7]]></amount></hbinfo><other><x>1</x></other></hblist><status>RECEIVED</status></xml>`,
	`<xml><nested><inner>1</inner>text</nested><flat>v</flat></xml>`,
	`<!-- c --><xml><!-- c --><a>v<!-- c -->w</a></xml><!-- c -->`,
	`<xml><a>恭喜发财</a></xml>`,
	`<xml><a>1</a><a>2</a></xml>`,
	`<xml><a>1</b></xml>`,
	`<xml><a>1</a>`,
	`<xml><a x="1">1</a></xml>`,
	`<!DOCTYPE xml [<!ENTITY e "x">]><xml><a>&e;</a></xml>`,
	`<xml><a>&#65;</a></xml>`,
	`<?xml version="1.0" encoding="GBK"?><xml><a>1</a></xml>`,
	`<html><body>502 Bad Gateway</body></html>`,
	`<xml><a>1</a></xml>trailing`,
	`<xml>text<a>1</a></xml>`,
	"<xml><a>\x00</a></xml>",
	"<xml><a>\xff</a></xml>",
	``,
	`<xml/>`,
}

func TestScanXMLMatchesReference(t *testing.T) {
	t.Parallel()
	samples := append([]string(nil), scanSamples...)
	files, _ := filepath.Glob("testdata/responses/*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, string(b))
	}
	accepted := 0
	for _, s := range samples {
		if checkScanAgainstReference(t, []byte(s)) {
			accepted++
		}
	}
	// The real-answer shapes above must all be accepted by the scanner.
	if accepted < 8 {
		t.Errorf("scanner accepted %d samples, want at least the 8 valid shapes", accepted)
	}
}

func TestScanXMLDepthBound(t *testing.T) {
	t.Parallel()
	deep := func(n int) []byte {
		return []byte("<xml><a>" + strings.Repeat("<b>", n) + strings.Repeat("</b>", n) + "</a><c>v</c></xml>")
	}
	r, err := scanXML(deep(maxSkipDepth))
	if err != nil {
		t.Fatalf("nesting of %d refused: %v", maxSkipDepth, err)
	}
	if got := r.get("c"); got != "v" {
		t.Errorf("field after a skipped subtree: got %q, want v", got)
	}
	if _, err := scanXML(deep(maxSkipDepth + 1)); err == nil {
		t.Errorf("nesting of %d accepted, want an error", maxSkipDepth+1)
	}
	// Unclosed tags all the way down a large body: an error, no deep recursion.
	if _, err := scanXML([]byte("<xml><a>" + strings.Repeat("<a>", 300_000))); err == nil {
		t.Error("300,000 unclosed tags accepted")
	}
}

func TestScanXMLValues(t *testing.T) {
	t.Parallel()
	r, err := scanXML([]byte(scanSamples[1]))
	if err != nil {
		t.Fatal(err)
	}
	want := params{{"a", "x]]>y"}, {"b", `1 < 2 && 3 > 2 "q'`}}
	if diff := cmp.Diff(want, r.fields, cmp.AllowUnexported(param{})); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	r, err = scanXML([]byte(scanSamples[2]))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.get("a"); got != "line1\nline2\nline3" {
		t.Errorf("CR normalisation: got %q", got)
	}
	if got := r.get("b"); got != "c\nd" {
		t.Errorf("CR normalisation in CDATA: got %q", got)
	}
}

// checkScanAgainstReference asserts the differential property: when the
// scanner accepts, encoding/xml accepts too with the same fields and hblist.
// It reports whether the scanner accepted.
func checkScanAgainstReference(t *testing.T, b []byte) bool {
	t.Helper()
	got, err := scanXML(b)
	if err != nil {
		return false
	}
	want, rerr := decodeXMLReference(b)
	if rerr != nil {
		t.Errorf("scanner accepted what encoding/xml refuses (%v): %q", rerr, truncate(b))
		return true
	}
	if diff := cmp.Diff(want.fields, got.fields, cmp.AllowUnexported(param{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("fields differ for %q (-encoding/xml +scanner):\n%s", truncate(b), diff)
	}
	if diff := cmp.Diff(want.hbinfo, got.hbinfo, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("hblist differs for %q (-encoding/xml +scanner):\n%s", truncate(b), diff)
	}
	return true
}

func truncate(b []byte) string {
	s := string(b)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// FuzzScanXMLDifferential holds the hand-written scanner to encoding/xml:
// never a panic, and never an acceptance that encoding/xml would not give
// with the same values.
func FuzzScanXMLDifferential(f *testing.F) {
	for _, s := range scanSamples {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/responses/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkScanAgainstReference(t, b)
	})
}

// TestScanXMLManyFields: a hostile answer with tens of thousands of distinct
// fields decodes in linear time (the duplicate check switches to a set), and
// a duplicate at the end is still caught.
func TestScanXMLManyFields(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("<xml>")
	const n = 60_000
	for i := range n {
		b.WriteString("<f" + strconv.Itoa(i) + ">1</f" + strconv.Itoa(i) + ">")
	}
	body := b.String()
	r, err := scanXML([]byte(body + "</xml>"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.fields) != n || r.get("f59999") != "1" {
		t.Errorf("decoded %d fields, want %d", len(r.fields), n)
	}
	if _, err := scanXML([]byte(body + "<f31>2</f31></xml>")); err == nil {
		t.Error("a duplicate after 60,000 fields was accepted")
	}
	if _, err := scanXML([]byte("<xml><a>1</a><b>2</b><a>3</a></xml>")); err == nil {
		t.Error("a duplicate among few fields was accepted")
	}
}
