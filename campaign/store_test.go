package campaign

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func basePlan(id string) PlanOptions {
	return PlanOptions{ID: id, MchID: "1900000109", AppID: "wx8888888888888888", SendName: "Shop", Wishing: "Thanks", ActName: "Promo", Remark: "r"}
}

func TestPlanAndSummary(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			ctx := context.Background()
			in := "key,openid,amount\na,oA1,100\nb,oB2,250\nc,oA1,300\n"
			sum, err := db.Plan(ctx, basePlan("c1"), csvOpener(in))
			require.NoError(t, err)
			assert.Equal(t, int64(3), sum.Rows)
			assert.Equal(t, int64(650), sum.TotalFen)
			assert.Equal(t, int64(3), sum.Added)
			assert.Equal(t, map[string]int{"oA1": 2}, sum.RepeatedOpenIDs)

			again, err := db.Plan(ctx, basePlan("c1"), csvOpener(in))
			require.NoError(t, err)
			assert.Equal(t, int64(0), again.Added)
			assert.Equal(t, int64(3), again.Existing)

			_, err = db.Plan(ctx, basePlan("c1"), csvOpener("key,openid,amount\na,oA1,101\n"))
			var pe *PlanError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, 2, pe.Problems[0].Line)

			s, err := db.Summary(ctx, "c1")
			require.NoError(t, err)
			assert.Equal(t, int64(3), s.Rows)
			assert.Equal(t, Money{3, 650}, s.Planned)
			assert.Equal(t, Money{3, 650}, s.Queued)
			assert.Equal(t, StateIdle, s.State)

			require.NoError(t, db.Pause(ctx, "c1"))
			s, err = db.Summary(ctx, "c1")
			require.NoError(t, err)
			assert.Equal(t, StatePaused, s.State)
			assert.Equal(t, PauseOperator, s.PauseKind)
			require.NoError(t, db.Resume(ctx, "c1"))

			list, err := db.List(ctx)
			require.NoError(t, err)
			require.Len(t, list, 1)

			h, err := db.Find(ctx, "c1", "oA1")
			require.NoError(t, err)
			require.Len(t, h, 2)
			assert.Len(t, h[0].Row.BillNo, 28)
			assert.Equal(t, byte('C'), h[0].Row.BillNo[10])

			_, err = db.Summary(ctx, "nope")
			assert.ErrorIs(t, err, ErrNoCampaign)
			assert.ErrorIs(t, db.Pause(ctx, "nope"), ErrNoCampaign)
		})
	}
}
