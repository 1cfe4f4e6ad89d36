package campaign

import (
	"net/http"
	"time"

	"github.com/redpack-go/redpack/redpacktest"
)

// FaultAnswers are the seven fault kinds as redpacktest answers, slow ones
// delayed by slow.
func FaultAnswers(slow time.Duration) []redpacktest.Answer {
	return []redpacktest.Answer{
		redpacktest.ResultFail("SYSTEMERROR"),
		redpacktest.Processing(),
		redpacktest.HTTPStatus(http.StatusBadGateway),
		redpacktest.Process().After(slow),
		redpacktest.Drop(),
		redpacktest.PayThenDrop(),
		redpacktest.ResultFail("FREQ_LIMIT"),
	}
}
