package motoproxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

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

// Every call to EC2 through this proxy is throttled, in the shape EC2 sends.
// In a test, the target is moto's URL and the code under test gets the
// proxy's URL as AWS_ENDPOINT_URL.
func ExampleFaults() {
	moto := httptest.NewServer(http.NotFoundHandler()) // stands in for moto
	defer moto.Close()
	p, err := motoproxy.New(moto.URL)
	if err != nil {
		panic(err)
	}
	defer p.Close()
	faults, err := motoproxy.NewFaults(motoproxy.FaultConfig{
		Rate: 1,
		Seed: 1,
		Mix:  map[motoproxy.FaultKind]float64{motoproxy.Throttle: 1},
	})
	if err != nil {
		panic(err)
	}
	p.AddHook(faults.Hook)

	resp, err := http.Post(p.URL, "application/x-www-form-urlencoded",
		strings.NewReader("Action=DescribeVpcs&Version=2016-11-15"))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.Contains(string(body), "<Code>RequestLimitExceeded</Code>"))
	s := faults.Stats()
	fmt.Println(s.Requests, s.Faults[motoproxy.Throttle], s.ByAction["DescribeVpcs"].Requests)
	// Output:
	// 503 true
	// 1 1 1
}
