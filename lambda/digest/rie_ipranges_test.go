package digest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestBootstrapFetchesAWSRanges runs the shipped bootstrap under the
// Runtime Interface Emulator with AWS_IP_RANGES_URL pointing at a local
// server that serves the built-in copy under a later createDate: the
// digest says it used the fetched document, and two invocations of the
// process fetch it once (at cold start, never per run).
func TestBootstrapFetchesAWSRanges(t *testing.T) {
	testenv.NeedLambda(t)
	f := newFixture(t)
	_, p := emulator(t)
	bin, err := testenv.Bootstrap("summarizer", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("ip-ranges.json")
	if err != nil {
		t.Fatal(err)
	}
	const fetchedDate = "2026-12-01-00-00-00"
	doc = []byte(strings.Replace(string(doc), `"createDate": "2022-11-11-02-33-09"`, `"createDate": "`+fetchedDate+`"`, 1))
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(doc)
	}))
	defer srv.Close()

	f.generate(f.generator(10, 500, 2, nil))
	rie, err := testenv.StartRIE(testenv.RIEConfig{
		Bootstrap: bin,
		Timeout:   120 * time.Second,
		Memory:    128,
		Env: append(testenv.EndpointEnv(p.URL),
			settings.EnvLogGroupName+"="+flowGroup,
			settings.EnvSummaryLogGroupName+"="+summaryGroup,
			settings.EnvStateTable+"="+stateTable,
			settings.EnvSourceAccount+"="+account,
			settings.EnvSourceRegion+"="+testenv.Region,
			settings.EnvSettleLag+"=1m",
			settings.EnvSchedulePeriod+"=1h",
			settings.EnvAWSIPRangesURL+"="+srv.URL+"/ip-ranges.json",
		),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rie.Close()
	for range 2 {
		if _, err := rie.Invoke(f.ctx, []byte(`{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{}}`)); err != nil {
			t.Fatalf("%v\n%s", err, rie.Log())
		}
	}
	ds := f.digests()
	if len(ds) == 0 || ds[0].FindingsBasis == nil {
		t.Fatalf("digests %s; want one with a findings basis\n%s", jsonOf(ds), rie.Log())
	}
	if b := ds[0].FindingsBasis; b.AWSRanges != fetchedDate || b.AWSRangesSource != digest.AWSRangesFetched {
		t.Errorf("the digest says ip-ranges.json of %q, %q; want %q, %q\n%s", b.AWSRanges, b.AWSRangesSource, fetchedDate, digest.AWSRangesFetched, rie.Log())
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("the document was fetched %d times in two invocations; want once, at cold start", n)
	}
}
