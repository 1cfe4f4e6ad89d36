package campaign

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseAll(in string) ([]InputRow, error) {
	var rows []InputRow
	err := ParseCSV(strings.NewReader(in), func(r InputRow) error { rows = append(rows, r); return nil })
	return rows, err
}

func TestParseCSVProblems(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // "line: text" fragments, in order
	}{
		{"empty", "", []string{"line 1: empty file"}},
		{"header only", "openid,amount\n", []string{"line 2: no data rows"}},
		{"missing column", "openid,key\no1,a\n", []string{"line 1: missing required column amount"}},
		{"unknown column", "openid,amount,colour\no1,100,red\n", []string{"line 1: unknown column \"colour\""}},
		{"not integer", "openid,amount\no1,1.5\no2,abc\n", []string{"line 2: amount:", "line 3: amount:"}},
		{"out of range", "openid,amount\no1,99\no2,20001\no3,100\n", []string{"line 2: amount: must be", "line 3: amount: must be"}},
		{"bad openid", "openid,amount\no 1,100\n,100\n", []string{"line 2: openid", "line 3: openid: required"}},
		{"non utf8", "openid,amount,wishing\no1,100,\xff\xfe\n", []string{"line 2: wishing: not valid UTF-8"}},
		{"duplicate key", "key,openid,amount\na,o1,100\nb,o2,100\na,o3,100\n", []string{"line 4: key: duplicate key \"a\" (first on line 2)"}},
		{"field count", "openid,amount\no1,100,extra\n", []string{"line 2: 3 fields, the header has 2"}},
		{"bare quote", "openid,amount\no\"1,100\n", []string{"line 2:"}},
		{"long text", "openid,amount,send_name\no1,100," + strings.Repeat("x", 33) + "\n", []string{"line 2: send_name: longer than 32"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseAll(tc.in)
			var pe *PlanError
			require.ErrorAs(t, err, &pe)
			require.Len(t, pe.Problems, len(tc.want), "%v", pe)
			for i, w := range tc.want {
				assert.Contains(t, pe.Problems[i].String(), w)
			}
		})
	}
}

func TestParseCSVGood(t *testing.T) {
	rows, err := parseAll("\ufeffOpenID,amount,wishing\r\noA,100,新年快乐\r\n\r\noB,20000,\r\n")
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, InputRow{Line: 2, Key: "2", OpenID: "oA", Amount: 100, Wishing: "新年快乐"}, rows[0])
	assert.Equal(t, "4", rows[1].Key)
}

// A file that never ends a line is refused without being held in memory.
func TestParseCSVHugeLine(t *testing.T) {
	r := io.MultiReader(strings.NewReader("openid,amount\no1,"), &endless{})
	err := ParseCSV(r, func(InputRow) error { return nil })
	var pe *PlanError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Error(), "longer than 64 KiB")
}

type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n > 200<<20 {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = '1'
	}
	e.n += len(p)
	return len(p), nil
}

// 200 MB of rows, every one bad: streamed, the problems capped.
func TestParseCSVBigBadFile(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("200 MB: not in -short or -race (it runs in the plain test run)")
	}
	row := "oX,notanumber," + strings.Repeat("w", 60) + "\n"
	n := 200 << 20 / len(row)
	r := io.MultiReader(strings.NewReader("openid,amount,wishing\n"), &repeat{s: row, n: n})
	err := ParseCSV(r, func(InputRow) error { return nil })
	var pe *PlanError
	require.ErrorAs(t, err, &pe)
	assert.Len(t, pe.Problems, MaxProblems)
	assert.Equal(t, n-MaxProblems, pe.More)
}

type repeat struct {
	s   string
	n   int
	buf []byte
}

func (r *repeat) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.n > 0 {
		r.buf = append(r.buf, r.s...)
		r.n--
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.buf)
	r.buf = r.buf[k:]
	return k, nil
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{"openid,amount\no1,100\n", "key,openid,amount,wishing\na,o1,100,\"x\ny\"\n", "\ufeffopenid,amount\n\xff,1\n", "", "\"", "openid,amount\n,,,,\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var rows []InputRow
		err := ParseCSV(strings.NewReader(in), func(r InputRow) error { rows = append(rows, r); return nil })
		var pe *PlanError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("error of another type: %v", err)
		}
		for _, r := range rows {
			if checkOpenID(r.OpenID) != "" || checkAmount(r.Amount) != "" {
				t.Fatalf("invalid row passed: %+v", r)
			}
		}
		if pe != nil {
			for _, p := range pe.Problems {
				if p.Msg == "" {
					t.Fatal("problem without message")
				}
			}
		}
	})
}

// Any problem anywhere: nothing is stored.
func TestPlanStoresNothingOnProblem(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			ctx := context.Background()
			in := "key,openid,amount\n" + strings.Repeat("", 0)
			for i := range 500 {
				in += "k" + itoa(i) + ",o" + itoa(i) + ",100\n"
			}
			in += "bad,o1,xx\n"
			_, err := db.Plan(ctx, basePlan("c"), csvOpener(in))
			var pe *PlanError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, 502, pe.Problems[0].Line)
			_, err = db.Summary(ctx, "c")
			assert.ErrorIs(t, err, ErrNoCampaign)

			// -max-total refuses, nothing stored.
			opts := basePlan("c")
			opts.MaxTotal = 100
			_, err = db.Plan(ctx, opts, csvOpener("openid,amount\no1,100\no2,100\n"))
			assert.ErrorIs(t, err, ErrMaxTotal)
			_, err = db.Summary(ctx, "c")
			assert.ErrorIs(t, err, ErrNoCampaign)

			// A missing default text is a problem with its line.
			_, err = db.Plan(ctx, PlanOptions{ID: "c", MchID: "1900000109", AppID: "wx1"}, csvOpener("openid,amount,send_name\no1,100,S\n"))
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, pe.Error(), "line 2: wishing: required")
		})
	}
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}
