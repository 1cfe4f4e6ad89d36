// Command reconcile walks through an unknown outcome against an in-process
// fake WeChat Pay server (redpacktest); no money moves.
//
// The fake pays the red packet and then drops the connection before
// answering, on every attempt. Send therefore returns ErrOutcomeUnknown with
// the bill number. Resolve, given the payment, then shows that the red packet was paid (SENT),
// and sending again with the SAME bill number pays nothing more: the send
// endpoints are re-entrant per bill number. Sending under a NEW bill number
// at that point would have paid the user twice.
//
// Run it with: go run ./examples/reconcile
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/redpacktest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reconcile:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stdout io.Writer) error {
	s := redpacktest.NewServer()
	defer s.Close()
	// The fake's client retries within milliseconds (redpacktest's
	// FastRetryPolicy); production keeps the default (at least one second
	// between re-sends of a bill number). One process: node 1.
	client := s.NewClient(redpack.WithNodeID(1))
	ledger := func() {
		fmt.Fprintf(stdout, "        ledger: %d packet(s), %d fen paid in total\n", len(s.Packets()), s.TotalPaid())
	}
	billNo, err := client.NewBillNo() // write-ahead: store it before sending
	if err != nil {
		return err
	}
	req := redpack.SendRequest{Packet: redpack.Packet{
		BillNo:   billNo,
		OpenID:   "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		Amount:   100,
		SendName: "红包示例商户",
		Wishing:  "恭喜发财",
		ActName:  "对账示例",
		Remark:   "未知结果的处理",
	}}
	fmt.Fprintf(stdout, "mode: fake (in-process redpacktest server), no money moves\n")

	fmt.Fprintf(stdout, "step 1: send bill %s; the server pays, then drops the connection on every attempt\n", req.BillNo)
	if err := s.Inject(redpacktest.EndpointSend, redpacktest.PayThenDrop(), 10); err != nil {
		return err
	}
	_, err = client.Send(ctx, req)
	var unknown *redpack.UnknownOutcomeError
	if !errors.As(err, &unknown) {
		return fmt.Errorf("step 1: want an unknown outcome, got %v", err)
	}
	fmt.Fprintf(stdout, "        Send: outcome %s, errors.Is(err, ErrOutcomeUnknown) = %t, bill %s, %d attempts\n",
		redpack.OutcomeOf(err), errors.Is(err, redpack.ErrOutcomeUnknown), unknown.BillNo, unknown.Attempts)
	fmt.Fprintln(stdout, "        the client cannot tell whether the user was paid: never switch bill numbers now")
	ledger()

	fmt.Fprintln(stdout, "step 2: the network recovers; resolve the bill number by query")
	s.ClearInjections()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	rec, err := client.Resolve(rctx, req.Payment()) // judged against this payment
	cancel()
	if err != nil {
		return fmt.Errorf("step 2: %w", err)
	}
	fmt.Fprintf(stdout, "        Resolve: status %s (%s): the red packet WAS paid, %d fen, detail_id %s\n",
		rec.Status, redpack.OutcomeOf(err), rec.TotalAmount, rec.DetailID)
	paid := s.TotalPaid()

	fmt.Fprintf(stdout, "step 3: send again with the SAME bill number %s\n", req.BillNo)
	res, err := client.Send(ctx, req)
	if err != nil {
		return fmt.Errorf("step 3: %w", err)
	}
	fmt.Fprintf(stdout, "        Send: OK, send_listid %s (the same red packet: %t)\n", res.SendListID, res.SendListID == rec.DetailID)
	ledger()
	if s.TotalPaid() != paid {
		return fmt.Errorf("step 3: paid twice: %d fen, was %d", s.TotalPaid(), paid)
	}
	fmt.Fprintf(stdout, "result: ledger total unchanged at %d fen; the user was paid exactly once\n", paid)
	return nil
}
