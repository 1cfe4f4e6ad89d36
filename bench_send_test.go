package redpack

import (
	"context"
	"testing"
)

// BenchmarkSendLoopbackMTLS measures a whole Send — validation, bill number,
// sign, encode, one mutual-TLS round trip on a pooled connection, decode —
// against a loopback server answering a fixed success.
func BenchmarkSendLoopbackMTLS(b *testing.B) {
	fixed := success(kv{"mch_billno", ""}) // no echo: every bill number matches
	b.Run("sequential", func(b *testing.B) {
		c, ts := newTestClient(b)
		ts.always(fixed)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Send(ctx, sendReq("")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		c, ts := newTestClient(b)
		ts.always(fixed)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Send(ctx, sendReq("")); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
