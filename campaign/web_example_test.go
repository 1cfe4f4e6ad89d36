package campaign_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/redpack-go/redpack/campaign"
)

// A merchant's admin service mounts the web view under a path of its own,
// behind its own authentication or with the view's token.
func ExampleNewHandler() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "redpack-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := campaign.Open(ctx, filepath.Join(dir, "campaigns.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	_, err = db.Plan(ctx, campaign.PlanOptions{ID: "spring", MchID: "1900000109", AppID: "wx8888888888888888",
		SendName: "Shop", Wishing: "Thanks", ActName: "Rebate", Remark: "spring rebate"},
		func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("key,openid,amount\nA-1,oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,150\nA-2,oUpF8uN0Rw4S1dUvfBsLvFqzD2XY,250\n")), nil
		})
	if err != nil {
		log.Fatal(err)
	}

	token, err := campaign.NewToken()
	if err != nil {
		log.Fatal(err)
	}
	h, err := campaign.NewHandler(db, campaign.HandlerOptions{Prefix: "/admin/redpack", Token: token})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/admin/redpack/", h) // pages, /api/, /metrics and /riverui/ under the prefix
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path string, withToken bool) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if withToken {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		return res
	}
	res := get("/admin/redpack/api/campaigns/spring", false)
	res.Body.Close()
	fmt.Println("without the token:", res.StatusCode)

	res = get("/admin/redpack/api/campaigns/spring", true)
	var s struct {
		Rows      int64   `json:"rows"`
		Planned   int64   `json:"planned"`
		Paid      int64   `json:"paid"`
		TotalYuan string  `json:"total_yuan"`
		Paused    *string `json:"paused"`
	}
	json.NewDecoder(res.Body).Decode(&s)
	res.Body.Close()
	fmt.Printf("rows %d, planned %d, paid %d, total %s yuan, paused %v\n", s.Rows, s.Planned, s.Paid, s.TotalYuan, s.Paused)
	// Output:
	// without the token: 401
	// rows 2, planned 2, paid 0, total 4.00 yuan, paused <nil>
}
