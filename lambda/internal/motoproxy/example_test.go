package motoproxy_test

import (
	"fmt"
	"net/http"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
)

// A test puts the proxy between the code under test and moto, chooses the
// failures it wants, and reads the number of calls afterwards.
func Example() {
	p, err := motoproxy.New("http://127.0.0.1:5000") // moto's URL, e.g. from testenv.StartMoto
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	// vpc-1 comes back in CreateFlowLogs' Unsuccessful list.
	p.FailItem("CreateFlowLogs", "vpc-1", "FlowLogsLimitExceeded", "at most 2 flow logs per VPC")
	// Every third DescribeVpcs call is throttled.
	p.AddHook(func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action == "DescribeVpcs" && c.Seq%3 == 0 {
			motoproxy.WriteError(w, http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
			return true
		}
		return false
	})

	// ... point the SDK at p.URL (AWS_ENDPOINT_URL) and run the code ...

	fmt.Println(p.Calls())
	// Output: map[]
}
