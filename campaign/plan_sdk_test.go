package campaign

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSDKCheck checks that plan's per-row check is the SDK's validation,
// reported under the CSV's column names on the row's line.
func TestSDKCheck(t *testing.T) {
	t.Parallel()
	bill, err := deriveBillNo("1900000109", "plan probe")
	if err != nil {
		t.Fatal(err)
	}
	ok := InputRow{Line: 7, Key: "k", OpenID: "oUser_1", Amount: 100, SendName: "商户", Wishing: "恭喜发财", ActName: "活动", Remark: "备注"}
	tests := []struct {
		name string
		edit func(*InputRow)
		want []Problem
	}{
		{"valid", func(*InputRow) {}, nil},
		{"openid", func(r *InputRow) { r.OpenID = "o+bad" }, []Problem{{Line: 7, Column: "openid"}}},
		{"amount below 1 yuan", func(r *InputRow) { r.Amount = 99 }, []Problem{{Line: 7, Column: "amount"}}},
		{"send_name 33 bytes", func(r *InputRow) { r.SendName = strings.Repeat("a", 33) }, []Problem{{Line: 7, Column: "send_name"}}},
		{"two fields", func(r *InputRow) { r.Amount, r.Remark = 20001, "r\n" }, []Problem{{Line: 7, Column: "remark"}, {Line: 7, Column: "amount"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.edit(&r)
			perr := &PlanError{}
			sdkCheck(perr, r, bill)
			var got []Problem
			for _, p := range perr.Problems {
				if p.Msg == "" {
					t.Errorf("problem without a message: %+v", p)
				}
				got = append(got, Problem{Line: p.Line, Column: p.Column})
			}
			if diff := cmp.Diff(sortProblems(tt.want), sortProblems(got)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func sortProblems(ps []Problem) []Problem {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b Problem) int { return strings.Compare(a.Column, b.Column) })
	return slices.Compact(out) // a field may break two rules
}
