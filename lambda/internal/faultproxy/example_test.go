package faultproxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/faultproxy"
)

// Every call to EC2 through this proxy is throttled, in the shape EC2 sends.
// In a test, the target is moto's URL and the code under test gets the
// proxy's URL as AWS_ENDPOINT_URL.
func ExampleStart() {
	moto := httptest.NewServer(http.NotFoundHandler()) // stands in for moto
	defer moto.Close()
	p, err := faultproxy.Start(faultproxy.Config{
		Target: moto.URL,
		Rate:   1,
		Seed:   1,
		Mix:    map[faultproxy.Kind]float64{faultproxy.Throttle: 1},
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	resp, err := http.Post(p.URL, "application/x-www-form-urlencoded",
		strings.NewReader("Action=DescribeVpcs&Version=2016-11-15"))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.Contains(string(body), "<Code>RequestLimitExceeded</Code>"))
	s := p.Stats()
	fmt.Println(s.Requests, s.Faults[faultproxy.Throttle], s.ByAction["DescribeVpcs"].Requests)
	// Output:
	// 503 true
	// 1 1 1
}
