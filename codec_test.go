package redpack

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fieldsOf returns the flat fields of r as a map.
func fieldsOf(r *response) map[string]string {
	m := make(map[string]string, len(r.fields))
	for _, kv := range r.fields {
		m[kv.k] = kv.v
	}
	return m
}

// readResponse reads a recorded answer from testdata/responses.
func readResponse(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "responses", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestEncodeXMLGolden(t *testing.T) {
	t.Parallel()
	p := params{{"a", "1"}, {"b", ""}, {"c", "x]]>y"}, {"d", `<&>"'`}, {"e", "恭喜发财"}}
	got := string(encodeXML(nil, p, "SIGNVALUE"))
	const want = `<xml>` +
		`<a><![CDATA[1]]></a>` +
		`<c><![CDATA[x]]]]><![CDATA[>y]]></c>` +
		`<d><![CDATA[<&>"']]></d>` +
		`<e><![CDATA[恭喜发财]]></e>` +
		`<sign><![CDATA[SIGNVALUE]]></sign>` +
		`</xml>`
	if got != want {
		t.Errorf("encodeXML:\n got %s\nwant %s", got, want)
	}
	if strings.Contains(got, "<b>") {
		t.Error("an empty value was sent")
	}
	if !strings.HasSuffix(got, "<sign><![CDATA[SIGNVALUE]]></sign></xml>") {
		t.Error("sign is not the last element")
	}

	// No sign: no sign element. The destination prefix is kept.
	got = string(encodeXML([]byte("PREFIX"), params{{"k", "v"}}, ""))
	if want := "PREFIX<xml><k><![CDATA[v]]></k></xml>"; got != want {
		t.Errorf("encodeXML without sign = %s, want %s", got, want)
	}
	if got := string(encodeXML(nil, nil, "")); got != "<xml></xml>" {
		t.Errorf("encodeXML(empty) = %s", got)
	}
}

func TestEncodedLen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    params
		sign string
	}{
		{"empty", nil, ""},
		{"sign only", nil, "ABC"},
		{"empty values skipped", params{{"a", ""}, {"b", "1"}}, ""},
		{"Chinese", params{{"act_name", "新年红包"}, {"wishing", "恭喜发财"}}, "9A0A8659F005D6984697E2CA0A9CF3B7"},
		{"one CDATA split", params{{"remark", "a]]>b"}}, "S"},
		{"three CDATA splits", params{{"remark", "]]>]]>"}, {"wishing", "x]]>"}}, "S"},
	}
	for _, tt := range tests {
		splits := 0
		for _, kv := range tt.p {
			splits += strings.Count(kv.v, "]]>")
		}
		got := len(encodeXML(nil, tt.p, tt.sign))
		// Each split adds "]]><![CDATA[" (12 bytes).
		if want := encodedLen(tt.p, tt.sign) + 12*splits; got != want {
			t.Errorf("%s: body %d bytes, encodedLen+splits %d", tt.name, got, want)
		}
	}
}

func TestEncodeXMLRoundTrip(t *testing.T) {
	t.Parallel()
	values := []string{
		"x]]>y", "]]>", "]]>]]>", "a]]>b]]>c", "]]", "]]]>", "]]]]>>", "]", ">", "]>", "]]>x]]",
		"<![CDATA[inner]]>", `&amp; &lt; <a/>`, "恭喜发财", "a b", "tab\tand\nnewline", "posttime%3D1%26mobile%3D86-1",
	}
	for _, v := range values {
		body := encodeXML(nil, params{{"remark", v}, {"wishing", "w"}}, "S")
		r, err := decodeXML(body, false)
		if err != nil {
			t.Errorf("decodeXML(encodeXML(%q)): %v\nbody %s", v, err, body)
			continue
		}
		want := map[string]string{"remark": v, "wishing": "w", "sign": "S"}
		if diff := cmp.Diff(want, fieldsOf(r)); diff != "" {
			t.Errorf("round trip of %q (-want +got):\n%s\nbody %s", v, diff, body)
		}
	}
}

func TestDecodeXMLAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		fields map[string]string
		hbinfo []params
	}{
		{"CDATA and plain text", `<xml><a><![CDATA[1]]></a><b>2</b></xml>`, map[string]string{"a": "1", "b": "2"}, nil},
		{"integer without CDATA", `<xml><total_amount>200</total_amount></xml>`, map[string]string{"total_amount": "200"}, nil},
		{"escaped text", `<xml><a>&lt;b&gt; &amp; &quot;&apos;</a></xml>`, map[string]string{"a": `<b> & "'`}, nil},
		{"CR and CRLF normalised", "<xml><a>x\r\ny\rz</a><b><![CDATA[p\r\nq]]></b></xml>", map[string]string{"a": "x\ny\nz", "b": "p\nq"}, nil},
		{"mixed CDATA and text", `<xml><a>x<![CDATA[<y>]]>z</a></xml>`, map[string]string{"a": "x<y>z"}, nil},
		{"empty and self-closing", `<xml><a></a><b/><c><![CDATA[]]></c></xml>`, map[string]string{"a": "", "b": "", "c": ""}, nil},
		{"prolog, comments, white space", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- hi -->\n<xml>\n <a>1</a>\n <!-- c -->\n</xml>\n<!-- after -->\n",
			map[string]string{"a": "1"}, nil},
		{"lowercase utf-8 declaration", `<?xml version="1.0" encoding="utf-8"?><xml><a>1</a></xml>`, map[string]string{"a": "1"}, nil},
		{"empty root", `<xml/>`, map[string]string{}, nil},
		{"unknown nested element skipped", `<xml><a>1</a><extra><x>1</x><y><z/></y></extra><b>2</b></xml>`, map[string]string{"a": "1", "b": "2"}, nil},
		{"hblist", `<xml><status>SENT</status><hblist><hbinfo><openid>o1</openid><amount>100</amount></hbinfo>` +
			`<other>skipped</other><hbinfo><openid><![CDATA[o2]]></openid><amount>200</amount><rcv_time>2018-01-23 13:45:31</rcv_time></hbinfo></hblist></xml>`,
			map[string]string{"status": "SENT"},
			[]params{{{"openid", "o1"}, {"amount", "100"}}, {{"openid", "o2"}, {"amount", "200"}, {"rcv_time", "2018-01-23 13:45:31"}}}},
		{"empty hblist", `<xml><hblist></hblist></xml>`, map[string]string{}, nil},
		// Valid XML the old hand-written scanner refused (issue 9 §1): a paid
		// answer written this way must read as paid.
		{"numeric character reference", `<xml><return_msg>it&#39;s &#x4E2D;</return_msg></xml>`, map[string]string{"return_msg": "it's 中"}, nil},
		{"attributes ignored", `<xml x="1"><a y='2'>v</a></xml>`, map[string]string{"a": "v"}, nil},
		{"DOCTYPE without entities", `<!DOCTYPE xml><xml><return_code>SUCCESS</return_code></xml>`, map[string]string{"return_code": "SUCCESS"}, nil},
		{"text directly under the root ignored", "<xml>\n  stray\n<a>1</a></xml>", map[string]string{"a": "1"}, nil},
		{"processing instructions ignored", `<xml><?php echo 1 ?><a>1</a></xml><?pi x?>`, map[string]string{"a": "1"}, nil},
		{"namespace prefix ignored", `<xml><p:return_code xmlns:p="urn:x">SUCCESS</p:return_code></xml>`, map[string]string{"return_code": "SUCCESS"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := decodeXML([]byte(tt.in), true)
			if err != nil {
				t.Fatalf("decodeXML: %v", err)
			}
			if diff := cmp.Diff(tt.fields, fieldsOf(r), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.hbinfo, r.hbinfo, cmpopts.EquateEmpty(), cmp.AllowUnexported(param{})); diff != "" {
				t.Errorf("hbinfo (-want +got):\n%s", diff)
			}
		})
	}
}

// Shallow unknown nesting is skipped; hostile depth is refused (the answer
// then counts as undecodable: an unknown outcome, never a failure).
func TestDecodeXMLNesting(t *testing.T) {
	t.Parallel()
	nest := func(depth int) []byte {
		return []byte("<xml><a>1</a><junk>" + strings.Repeat("<b>", depth) + strings.Repeat("</b>", depth) + "</junk></xml>")
	}
	r, err := decodeXML(nest(3), false)
	if err != nil {
		t.Fatalf("decodeXML: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"a": "1"}, fieldsOf(r)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if _, err := decodeXML(nest(100_000), false); err == nil {
		t.Error("100,000 levels of nesting accepted")
	}
}

// manyFields returns n distinct empty elements.
func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("<f" + strconv.Itoa(i) + "/>")
	}
	return b.String()
}

// hostileBodies must all be refused without a panic.
func hostileBodies() map[string]string {
	big := "<xml><remark><![CDATA[" + strings.Repeat("a", maxResponseBytes) + "]]></remark></xml>"
	return map[string]string{
		"empty":                  "",
		"white space":            " \n\t ",
		"plain text":             "Bad Gateway",
		"JSON":                   `{"return_code":"SUCCESS","result_code":"SUCCESS"}`,
		"wrong root":             `<root><return_code>SUCCESS</return_code></root>`,
		"HTML root":              `<html><body>502</body></html>`,
		"text before root":       `x<xml><a>1</a></xml>`,
		"duplicate field":        `<xml><return_code>FAIL</return_code><return_code>SUCCESS</return_code></xml>`,
		"duplicate CDATA field":  `<xml><err_code><![CDATA[NOTENOUGH]]></err_code><err_code><![CDATA[SUCCESS]]></err_code></xml>`,
		"duplicate hbinfo field": `<xml><hblist><hbinfo><amount>1</amount><amount>100000</amount></hbinfo></hblist></xml>`,
		"trailing garbage":       `<xml><a>1</a></xml>garbage`,
		"second document":        `<xml><a>1</a></xml><xml><a>2</a></xml>`,
		"trailing element":       `<xml><a>1</a></xml><b/>`,
		"truncated after root":   `<xml>`,
		"truncated in element":   `<xml><return_code>SUCC`,
		"truncated in CDATA":     `<xml><return_code><![CDATA[SUCC`,
		"truncated in tag":       `<xml><return_co`,
		"truncated before end":   `<xml><return_code>SUCCESS</return_code>`,
		"truncated hblist":       `<xml><hblist><hbinfo><amount>1</amount>`,
		"mismatched end":         `<xml><a>1</b></xml>`,
		"unquoted attribute":     `<xml a=1><b>1</b></xml>`,
		"internal entity":        `<!DOCTYPE xml [<!ENTITY e "SUCCESS">]><xml><return_code>&e;</return_code></xml>`,
		"external entity":        `<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><return_code>&x;</return_code></xml>`,
		"billion laughs": `<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">` +
			`<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><r>&c;</r></xml>`,
		"undefined entity":            `<xml><a>&nbsp;</a></xml>`,
		"bare ampersand":              `<xml><a>a & b</a></xml>`,
		"too many fields":             "<xml>" + strings.Repeat("<a1/>", 1) + manyFields(maxFields+1) + "</xml>",
		"too many hbinfo":             "<xml><hblist>" + strings.Repeat("<hbinfo/>", maxHBInfo+1) + "</hblist></xml>",
		"hbinfo with too many fields": "<xml><hblist><hbinfo>" + manyFields(maxHBInfoFields+1) + "</hbinfo></hblist></xml>",
		"CDATA end in text":           `<xml><a>x]]>y</a></xml>`,
		"double hyphen in comment":    `<xml><!-- a -- b --><a>1</a></xml>`,
		"XML 1.1":                     `<?xml version="1.1"?><xml><a>1</a></xml>`,
		"1 MiB of nested tags":        strings.Repeat("<a>", maxResponseBytes/3),
		"GBK declaration":             `<?xml version="1.0" encoding="GBK"?><xml><return_code>SUCCESS</return_code></xml>`,
		"ISO-8859-1 declaration":      `<?xml version="1.0" encoding="ISO-8859-1"?><xml><a>1</a></xml>`,
		"invalid UTF-8":               "<xml><a>\xff\xfe</a></xml>",
		"NUL character":               "<xml><a>\x00</a></xml>",
		"char ref to NUL":             "<xml><a>&#0;</a></xml>",
		"noncharacter U+FFFF":         "<xml><a>\uffff</a></xml>",
		"deeply nested junk":          "<xml><a>" + strings.Repeat("<b>", 100_000),
		"deeply nested unclosed tag":  strings.Repeat("<xml>", 50_000),
		"larger than 1 MiB":           big,
	}
}

func TestDecodeXMLRefusesHostile(t *testing.T) {
	t.Parallel()
	for name, in := range hostileBodies() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := decodeXML([]byte(in), true)
			if err == nil {
				t.Fatalf("decodeXML accepted it: %d fields", len(r.fields))
			}
			if r != nil {
				t.Errorf("decodeXML returned a response with an error")
			}
			// The client reports it as a decode error wrapped in an unknown
			// outcome; the sample stays capped.
			de := newDecodeError(200, err.Error(), []byte(in))
			if len(de.Body) > maxBodySample {
				t.Errorf("body sample %d bytes", len(de.Body))
			}
			ue := &UnknownOutcomeError{Op: opSend, BillNo: "1", Attempts: 1, Err: de}
			if OutcomeOf(ue) != OutcomeUnknown {
				t.Errorf("Outcome = %v, want UNKNOWN", OutcomeOf(ue))
			}
		})
	}
}

func TestDecodeXMLSizeLimit(t *testing.T) {
	t.Parallel()
	head, tail := "<xml><remark><![CDATA[", "]]></remark></xml>"
	pad := maxResponseBytes - len(head) - len(tail)
	atLimit := head + strings.Repeat("a", pad) + tail
	if len(atLimit) != maxResponseBytes {
		t.Fatalf("len = %d", len(atLimit))
	}
	r, err := decodeXML([]byte(atLimit), false)
	if err != nil {
		t.Fatalf("decodeXML(exactly 1 MiB): %v", err)
	}
	if len(r.get("remark")) != pad {
		t.Errorf("remark %d bytes, want %d", len(r.get("remark")), pad)
	}
	if _, err := decodeXML([]byte(head+strings.Repeat("a", pad+1)+tail), false); err == nil {
		t.Error("decodeXML accepted 1 MiB + 1 byte")
	}
}

func TestIntField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int64
		ok   bool
		name string
	}{
		{"", 0, true, "empty"},
		{"  ", 0, true, "blank"},
		{"200", 200, true, "plain"},
		{" 200\n", 200, true, "padded"},
		{"-1", -1, true, "negative"},
		{"1.5", 0, false, "decimal"},
		{"abc", 0, false, "letters"},
		{"99999999999999999999", 0, false, "overflow"},
	}
	for _, tt := range tests {
		n, ok := intField(tt.in)
		if ok != tt.ok || (ok && n != tt.n) {
			t.Errorf("%s: intField(%q) = %d, %v; want %d, %v", tt.name, tt.in, n, ok, tt.n, tt.ok)
		}
	}
}

var allSentinels = []error{
	ErrSystem, ErrProcessing, ErrFreqLimit, ErrSendFailed, ErrConflict, ErrNoAuth, ErrSendNumLimit,
	ErrRcvdAmountLimit, ErrSendAmountLimit, ErrMoneyLimit, ErrNotEnough, ErrIllegalAppID, ErrOpenID,
	ErrMsgAppID, ErrAcceptMode, ErrAPIMethodClosed, ErrCA, ErrSign, ErrXML,
	ErrParam, ErrSecondOverLimited, ErrDayOverLimited, ErrNotFound,
}

// checkSentinels asserts that err matches want and no other code sentinel.
func checkSentinels(t *testing.T, err, want error) {
	t.Helper()
	for _, s := range allSentinels {
		if got := errors.Is(err, s); got != (s == want) {
			t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, s == want)
		}
	}
}

// TestDecodeAllocationBound is the regression test for issue 8 item 11: a
// 1 MiB answer of empty <hbinfo/> entries cost 37 MiB to decode. hblist is
// read for gethbinfo only and capped, so the bytes allocated per hostile
// answer stay a small multiple of nothing. Not parallel: it reads the
// process's allocation counters.
func TestDecodeAllocationBound(t *testing.T) {
	body := []byte("<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code><hblist>" +
		strings.Repeat("<hbinfo/>", (maxResponseBytes-200)/len("<hbinfo/>")) + "</hblist></xml>")
	if len(body) > maxResponseBytes {
		t.Fatalf("body %d bytes", len(body))
	}
	for _, query := range []bool{false, true} {
		var before, after runtime.MemStats
		const runs = 5
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range runs {
			if _, err := decodeXML(body, query); err == nil {
				t.Fatalf("query=%v: a 1 MiB hblist accepted", query)
			}
		}
		runtime.ReadMemStats(&after)
		perAnswer := (after.TotalAlloc - before.TotalAlloc) / runs
		if perAnswer > 1<<20 {
			t.Errorf("query=%v: %d KiB allocated per hostile 1 MiB answer, want at most 1024", query, perAnswer>>10)
		}
	}
}
