package campaign

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with a plan's input, by line (1-based; 0 when
// the problem is with the file as a whole).
type Problem struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Msg    string `json:"msg"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Column != "" {
		b.WriteString(p.Column)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// MaxProblems bounds how many problems a PlanError lists; More counts the
// rest.
const MaxProblems = 1000

// PlanError reports every problem of a plan's input. Nothing was stored.
type PlanError struct {
	Problems []Problem
	More     int // problems beyond MaxProblems, not listed
}

func (e *PlanError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "campaign: plan refused, nothing stored: %d problem(s)", len(e.Problems)+e.More)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", e.More)
	}
	return b.String()
}

func (e *PlanError) add(p Problem) {
	if len(e.Problems) < MaxProblems {
		e.Problems = append(e.Problems, p)
	} else {
		e.More++
	}
}

// InputRow is one row of a plan's CSV input.
type InputRow struct {
	Line                               int
	Key                                string // the key column, or the line number
	OpenID                             string
	Amount                             int64  // fen
	SendName, Wishing, ActName, Remark string // "" = the campaign's default
}

// MaxLineBytes bounds one CSV line.
const MaxLineBytes = 64 << 10

var csvColumns = map[string]bool{"openid": true, "amount": true, "key": true, "wishing": true, "remark": true, "act_name": true, "send_name": true}

// lineLimiter fails a read once one record grows past MaxLineBytes, so
// that a hostile file (no newlines, or one quoted field spanning many
// lines) cannot make the parser hold it all. It follows quoting the way
// encoding/csv does: a quote opens a field only at the start of a field, and
// "" inside a quoted field is an escaped quote; a newline inside quotes does
// not end the record.
type lineLimiter struct {
	r          io.Reader
	cur        int
	line       int  // newlines seen
	start      int  // line (1-based) where the current record started
	inQuote    bool // inside a quoted field
	afterQuote bool // the last byte closed a quoted field (a '"' next reopens it: "")
	prev       byte // the last byte ('\n' at the start)
}

// longRecordError is a record over MaxLineBytes, with the line it started on.
type longRecordError struct{ line int }

func (e *longRecordError) Error() string {
	return fmt.Sprintf("record longer than %d KiB (a quoted field spanning lines counts whole)", MaxLineBytes>>10)
}

var errLongLine = &longRecordError{}

func (e *longRecordError) Is(target error) bool { return target == errLongLine }

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.start == 0 {
		l.start, l.prev = 1, '\n'
	}
	for i := 0; i < n; i++ {
		b := p[i]
		switch {
		case b == '"' && l.inQuote:
			l.inQuote, l.afterQuote = false, true
		case b == '"' && (l.afterQuote || l.prev == ',' || l.prev == '\n'):
			l.inQuote, l.afterQuote = true, false
		default:
			l.afterQuote = false
		}
		l.prev = b
		if b == '\n' {
			l.line++
			if !l.inQuote {
				l.cur, l.start = 0, l.line+1
				continue
			}
		}
		l.cur++
		if l.cur > MaxLineBytes {
			return i, &longRecordError{line: l.start}
		}
	}
	return n, err
}

// ParseCSV reads a campaign input: UTF-8 (a BOM is tolerated), a header
// row, columns openid and amount (integer fen) required, key, wishing,
// remark, act_name and send_name optional. It calls fn for every valid row,
// in file order, and returns a *PlanError listing every problem (with its
// line) when there is any; fn is called for the valid rows even then, so
// that a caller can add its own problems. It streams: memory grows with the number of
// distinct keys, never with the file. It never panics, whatever the input.
func ParseCSV(r io.Reader, fn func(InputRow) error) error {
	perr := &PlanError{}
	cr := csv.NewReader(bufio.NewReaderSize(&lineLimiter{r: r}, 64<<10))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		perr.add(Problem{Line: 1, Msg: "empty file: expected a header row with openid and amount"})
		return perr
	}
	if err != nil {
		perr.add(Problem{Line: csvErrLine(err, 1), Msg: csvErrMsg(err)})
		return perr
	}
	header = append([]string(nil), header...) // ReuseRecord: the next Read overwrites it
	names := make([]string, len(header))
	col := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		if !utf8.ValidString(h) {
			perr.add(Problem{Line: 1, Msg: fmt.Sprintf("header column %d is not valid UTF-8", i+1)})
			continue
		}
		name := strings.ToLower(strings.TrimSpace(h))
		names[i] = name
		if !csvColumns[name] {
			perr.add(Problem{Line: 1, Msg: fmt.Sprintf("unknown column %q (known: openid, amount, key, send_name, wishing, act_name, remark)", name)})
			continue
		}
		if _, dup := col[name]; dup {
			perr.add(Problem{Line: 1, Msg: fmt.Sprintf("column %q appears twice", name)})
			continue
		}
		col[name] = i
	}
	for _, req := range []string{"openid", "amount"} {
		if _, ok := col[req]; !ok {
			perr.add(Problem{Line: 1, Msg: "missing required column " + req})
		}
	}
	if len(perr.Problems) > 0 {
		return perr
	}
	ncols := len(header)
	get := func(rec []string, name string) (string, bool) {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return "", ok
		}
		return rec[i], true
	}
	keys := map[[16]byte]int32{} // key hash -> first line
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err == csv.ErrFieldCount {
				continue // FieldsPerRecord is -1: not reached
			}
			perr.add(Problem{Line: csvErrLine(err, 0), Msg: csvErrMsg(err)})
			if errors.Is(err, errLongLine) || !errors.As(err, &pe) {
				break // the reader cannot go on
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && rec[0] == "" {
			continue // blank line
		}
		if len(rec) != ncols {
			perr.add(Problem{Line: line, Msg: fmt.Sprintf("%d fields, the header has %d", len(rec), ncols)})
			continue
		}
		rows++
		row := InputRow{Line: line}
		bad := false
		fail := func(c, msg string) { perr.add(Problem{Line: line, Column: c, Msg: msg}); bad = true }
		for i, v := range rec {
			if !utf8.ValidString(v) {
				fail(cmpOr(names[i], "column "+strconv.Itoa(i+1)), "not valid UTF-8")
			}
		}
		if bad {
			continue
		}
		row.OpenID, _ = get(rec, "openid")
		if msg := checkOpenID(row.OpenID); msg != "" {
			fail("openid", msg)
		}
		amount, _ := get(rec, "amount")
		n, err := strconv.ParseInt(amount, 10, 64)
		switch {
		case amount == "":
			fail("amount", "required (integer fen)")
		case err != nil:
			fail("amount", fmt.Sprintf("%q is not an integer number of fen", truncate(amount, 40)))
		default:
			if msg := checkAmount(n); msg != "" {
				fail("amount", msg)
			}
			row.Amount = n
		}
		if k, ok := get(rec, "key"); ok {
			row.Key = k
			if msg := checkText(k, maxKey); msg != "" {
				fail("key", msg)
			}
		} else {
			row.Key = strconv.Itoa(line)
		}
		for _, t := range []struct {
			name string
			dst  *string
			max  int
		}{{"send_name", &row.SendName, maxSendName}, {"wishing", &row.Wishing, maxWishing}, {"act_name", &row.ActName, maxActName}, {"remark", &row.Remark, maxRemark}} {
			if v, ok := get(rec, t.name); ok && v != "" {
				*t.dst = v
				if msg := checkText(v, t.max); msg != "" {
					fail(t.name, msg)
				}
			}
		}
		if row.Key != "" {
			h := keyHash(row.Key)
			if first, dup := keys[h]; dup {
				fail("key", fmt.Sprintf("duplicate key %q (first on line %d)", truncate(row.Key, 64), first))
			} else {
				keys[h] = int32(line)
			}
		}
		if bad {
			continue
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if rows == 0 && len(perr.Problems) == 0 {
		perr.add(Problem{Line: 2, Msg: "no data rows after the header"})
	}
	if len(perr.Problems) > 0 || perr.More > 0 {
		return perr
	}
	return nil
}

func keyHash(k string) [16]byte {
	s := sha256Sum(k)
	var h [16]byte
	copy(h[:], s[:16])
	return h
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func csvErrLine(err error, def int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Line
	}
	var le *longRecordError
	if errors.As(err, &le) {
		return le.line
	}
	return def
}

func csvErrMsg(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
