package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/redpack-go/redpack"
)

// The -json output. Field names are part of the command's interface: add
// fields, never rename or remove one.

// jsonError describes a failed call.
type jsonError struct {
	Message    string      `json:"message"`
	ErrCode    string      `json:"err_code,omitempty"`
	ErrCodeDes string      `json:"err_code_des,omitempty"`
	ReturnCode string      `json:"return_code,omitempty"`
	ReturnMsg  string      `json:"return_msg,omitempty"`
	Fields     []jsonField `json:"fields,omitempty"` // validation errors
	// LastAnswer holds the codes of the last answer of a call whose
	// outcome is unknown or pending. It is only the last answer: an
	// earlier attempt may have been paid, so its err_code proves nothing.
	LastAnswer *jsonAnswer `json:"last_answer,omitempty"`
}

type jsonAnswer struct {
	ErrCode    string `json:"err_code,omitempty"`
	ErrCodeDes string `json:"err_code_des,omitempty"`
	ReturnCode string `json:"return_code,omitempty"`
	ReturnMsg  string `json:"return_msg,omitempty"`
}

type jsonField struct {
	Field  string `json:"field"` // wire name
	Reason string `json:"reason"`
}

// sendOutput is the result of send.
type sendOutput struct {
	Op           string                `json:"op"`
	Outcome      string                `json:"outcome"`
	ExitCode     int                   `json:"exit_code"`
	BillNo       string                `json:"mch_billno"`
	SendListID   string                `json:"send_listid,omitempty"`
	OpenID       string                `json:"re_openid,omitempty"`
	Amount       int64                 `json:"total_amount,omitempty"` // fen
	TotalNum     int                   `json:"total_num,omitempty"`
	SendTime     string                `json:"send_time,omitempty"` // RFC 3339
	Package      string                `json:"package,omitempty"`
	BizRedPacket *redpack.BizRedPacket `json:"biz_red_packet,omitempty"`
	Next         string                `json:"next,omitempty"` // what to do now
	Error        *jsonError            `json:"error,omitempty"`
}

// recordOutput is the result of query and resolve.
type recordOutput struct {
	Op       string       `json:"op"`
	Outcome  string       `json:"outcome"`
	ExitCode int          `json:"exit_code"`
	BillNo   string       `json:"mch_billno"`
	Payment  *jsonPayment `json:"payment,omitempty"` // the payment judged, when given
	Record   *jsonRecord  `json:"record,omitempty"`
	Next     string       `json:"next,omitempty"`
	Error    *jsonError   `json:"error,omitempty"`
}

type jsonPayment struct {
	OpenID   string `json:"re_openid"`
	Amount   int64  `json:"total_amount"` // fen
	TotalNum int    `json:"total_num"`
}

type jsonRecord struct {
	BillNo       string         `json:"mch_billno"`
	DetailID     string         `json:"detail_id,omitempty"`
	Status       string         `json:"status"`
	SendType     string         `json:"send_type,omitempty"`
	HBType       string         `json:"hb_type,omitempty"`
	TotalNum     int            `json:"total_num"`
	TotalAmount  int64          `json:"total_amount"` // fen
	Reason       string         `json:"reason,omitempty"`
	SendTime     string         `json:"send_time,omitempty"`
	RefundTime   string         `json:"refund_time,omitempty"`
	RefundAmount int64          `json:"refund_amount,omitempty"` // fen
	Wishing      string         `json:"wishing,omitempty"`
	Remark       string         `json:"remark,omitempty"`
	ActName      string         `json:"act_name,omitempty"`
	Receivers    []jsonReceiver `json:"hblist"`
}

type jsonReceiver struct {
	OpenID  string `json:"openid"`
	Amount  int64  `json:"amount"` // fen
	RcvTime string `json:"rcv_time,omitempty"`
}

func newJSONError(err error) *jsonError {
	if err == nil {
		return nil
	}
	je := &jsonError{Message: err.Error()}
	var ae *redpack.APIError
	if errors.As(err, &ae) {
		je.ErrCode, je.ErrCodeDes, je.ReturnCode, je.ReturnMsg = ae.ErrCode, ae.ErrCodeDes, ae.ReturnCode, ae.ReturnMsg
	}
	var ue *redpack.UnknownOutcomeError
	if errors.As(err, &ue) && ue.LastAnswer != nil {
		a := ue.LastAnswer
		je.LastAnswer = &jsonAnswer{a.ErrCode, a.ErrCodeDes, a.ReturnCode, a.ReturnMsg}
	}
	var ve *redpack.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			je.Fields = append(je.Fields, jsonField{f.Field, f.Reason})
		}
	}
	return je
}

func newJSONRecord(r *redpack.Record) *jsonRecord {
	if r == nil {
		return nil
	}
	jr := &jsonRecord{
		BillNo:       r.BillNo,
		DetailID:     r.DetailID,
		Status:       string(r.Status),
		SendType:     string(r.SendType),
		HBType:       string(r.HBType),
		TotalNum:     r.TotalNum,
		TotalAmount:  r.TotalAmount,
		Reason:       r.Reason,
		SendTime:     formatTime(r.SendTime),
		RefundTime:   formatTime(r.RefundTime),
		RefundAmount: r.RefundAmount,
		Wishing:      r.Wishing,
		Remark:       r.Remark,
		ActName:      r.ActName,
		Receivers:    []jsonReceiver{},
	}
	for _, h := range r.Receivers {
		jr.Receivers = append(jr.Receivers, jsonReceiver{h.OpenID, h.Amount, formatTime(h.RcvTime)})
	}
	return jr
}

func writeJSON(w io.Writer, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil { // cannot happen for the types above
		panic(err)
	}
	w.Write(append(b, '\n'))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// formatFen prints an amount as "100 fen (1.00 yuan)".
func formatFen(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d fen (%s%d.%02d yuan)", sign, fen, sign, fen/100, fen%100)
}

// table prints aligned "name  value" lines, skipping empty values.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table {
	return &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

func (t *table) row(name, value string) {
	if value != "" {
		fmt.Fprintf(t.tw, "  %s\t%s\n", name, value)
	}
}

func (t *table) flush() { t.tw.Flush() }

// resolveHint is the resolve command line for p.
func resolveHint(p redpack.Payment, kind string) string {
	s := "redpack resolve " + p.BillNo + " -openid " + shellQuote(p.OpenID) + " -amount " + strconv.FormatInt(p.Amount, 10)
	if kind != "normal" && kind != "" {
		s += " -kind " + kind
	}
	if p.TotalNum > 1 {
		s += " -total-num " + strconv.Itoa(p.TotalNum)
	}
	return "\"" + s + "\""
}

// nextStep says what to do after a send's outcome; "" for OK.
func nextStep(class redpack.Outcome, code int, p redpack.Payment, kind string) string {
	billNo := p.BillNo
	switch {
	case code == exitUsage:
		return "nothing was sent; fix the request and send again"
	case class == redpack.OutcomeUnknown:
		return "the red packet may have been paid: never send it under a new bill number; " +
			"run " + resolveHint(p, kind) + ", or send again with -billno " + billNo + " and the same -openid and -amount"
	case class == redpack.OutcomePending:
		return "accepted and still processing, or an earlier request under this bill number stands: " +
			"run " + resolveHint(p, kind) + " (WeChat Pay suggests about 20 minutes)"
	case class == redpack.OutcomeConflict:
		return "bill number " + billNo + " belongs to another payment (another openid or amount); this request paid nothing: " +
			"never send these parameters under it again, and find out why two payments share it before paying under a new bill number"
	case class == redpack.OutcomeFinal:
		return "not paid under this bill number: fix the cause; paying again needs a new bill number, " +
			"but if an earlier send of " + billNo + " ended unknown or pending, run " + resolveHint(p, kind) + " first"
	case class == redpack.OutcomeRejected:
		return "refused before processing; nothing was paid by this request: fix the configuration or the request; " +
			"but if an earlier send of " + billNo + " ended unknown or pending, it may have been paid: run " + resolveHint(p, kind) + " before paying under a new bill number"
	case class == redpack.OutcomeNotSent:
		return "nothing reached WeChat Pay; sending again with -billno " + billNo + " is safe"
	}
	return ""
}

// outcomeHeadline is the first line of the human output.
func outcomeHeadline(class redpack.Outcome, code int) string {
	if code == exitUsage {
		return "INVALID REQUEST"
	}
	switch class {
	case redpack.OutcomeOK:
		return "OK"
	case redpack.OutcomeUnknown:
		return "OUTCOME UNKNOWN"
	case redpack.OutcomeNotSent:
		return "NOT SENT"
	}
	return class.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
