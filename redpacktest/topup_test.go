package redpacktest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redpack-go/redpack"
)

// TestTopUp: a send over the balance meets NOTENOUGH and pays nothing; after
// a top-up the dead bill stays dead (SEND_FAILED) and a new bill pays.
func TestTopUp(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithFreqLimit(0), WithBalance(150))
	c := newTestClient(t, s)
	ctx := t.Context()

	dead := newBillNo(t, c)
	_, err := c.Send(ctx, sendReq(dead, "oUser", 200))
	require.Error(t, err)
	assert.ErrorIs(t, err, redpack.ErrNotEnough)
	assert.Equal(t, int64(150), s.Balance())

	require.Error(t, s.TopUp(0))
	require.Error(t, s.TopUp(-5))
	require.NoError(t, s.TopUp(1000))
	assert.Equal(t, int64(1150), s.Balance())

	_, err = c.Send(ctx, sendReq(dead, "oUser", 200))
	assert.ErrorIs(t, err, redpack.ErrSendFailed, "a bill that met NOTENOUGH is dead")
	_, err = c.Send(ctx, sendReq(newBillNo(t, c), "oUser", 200))
	require.NoError(t, err)
	assert.Equal(t, int64(950), s.Balance())
	assert.Len(t, s.Packets(), 1)
}
