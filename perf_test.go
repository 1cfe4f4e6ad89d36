package redpack

import (
	"testing"
)

// benchSuccessAnswer is a sendredpack success as WeChat Pay sends it.
var benchSuccessAnswer = []byte(`<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[发放成功]]></return_msg><result_code><![CDATA[SUCCESS]]></result_code><err_code><![CDATA[SUCCESS]]></err_code><err_code_des><![CDATA[发放成功]]></err_code_des><mch_billno><![CDATA[0010010404201411170000046545]]></mch_billno><mch_id><![CDATA[10010404]]></mch_id><wxappid><![CDATA[wx6fa7e3bab7e15415]]></wxappid><re_openid><![CDATA[onqOjjmM1tad-3ROpncN-yUfa6uI]]></re_openid><total_amount>100</total_amount><send_listid><![CDATA[1000041701202004173001723769407]]></send_listid></xml>`)

// BenchmarkSDKWorkPerSend measures everything the SDK does for one send
// besides the network, through the stages Send runs: prepare (validate,
// params, nonce, sign, encode), decoding the answer, classify and the result.
func BenchmarkSDKWorkPerSend(b *testing.B) {
	c := &Client{mchID: "10010404", appID: "wx6fa7e3bab7e15415", sign: newSigner("192006250b4c09247ec02edce69f6a2d"), opts: defaultOptions()}
	req := SendRequest{Packet: Packet{BillNo: "0010010404201411170000046545", OpenID: "onqOjjmM1tad-3ROpncN-yUfa6uI", Amount: 100,
		SendName: "商户名称", Wishing: "恭喜发财", ActName: "新年红包", Remark: "新年快乐"}}
	b.ReportAllocs()
	for b.Loop() {
		pr, err := c.prepareSend(&req)
		if err != nil {
			b.Fatal(err)
		}
		r, err := decodeXML(benchSuccessAnswer, false)
		if err != nil {
			b.Fatal(err)
		}
		if v, _, err := classify(pr, result{answer: r, raw: benchSuccessAnswer, sent: true}, false); v.outcome != OutcomeOK {
			b.Fatal(v, err)
		}
		if res := sendResult(r, benchSuccessAnswer, pr); res.Amount != 100 {
			b.Fatal("amount", res.Amount)
		}
	}
}
