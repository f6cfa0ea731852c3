package digest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestBootstrapUnderRIE runs the shipped linux/arm64 bootstrap under the
// Runtime Interface Emulator against moto, with the real clock: one
// scheduled invocation writes the digest, checkpoints it, emits metrics and
// publishes the text to an SNS topic whose HTTP subscriber is this test.
func TestBootstrapUnderRIE(t *testing.T) {
	testenv.NeedLambda(t)
	f := newFixture(t)
	_, p := emulator(t)
	bin, err := testenv.Bootstrap("summarizer", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	notes := make(chan map[string]string, 4)
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		if json.Unmarshal(b, &m) == nil && m["Type"] == "Notification" {
			notes <- m
		}
	}))
	defer sub.Close()
	topic, err := f.sns.CreateTopic(f.ctx, &sns.CreateTopicInput{Name: aws.String("flow-log-digests")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sns.Subscribe(f.ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(sub.URL)}); err != nil {
		t.Fatal(err)
	}

	// The records end ten minutes before now; with a one-minute settle lag
	// and a one-hour first window, the first run covers them all.
	g := f.generator(10, 5_000, 4, nil)
	f.generate(g)
	exp := g.Expected(flowrecord.Options{})

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
			settings.EnvTopicARN+"="+aws.ToString(topic.TopicArn),
		),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rie.Close()

	out, err := rie.Invoke(f.ctx, []byte(`{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{}}`))
	if err != nil {
		t.Fatalf("%v\n%s", err, rie.Log())
	}
	var res digest.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	if res.Records != exp.Totals.Records || res.Malformed != exp.Malformed.Count || res.Partial || !res.Published {
		t.Errorf("result %+v, want %d records, %d malformed, complete and published\n%s", res, exp.Totals.Records, exp.Malformed.Count, rie.Log())
	}
	ds := f.digests()
	if len(ds) != 1 || ds[0].Totals.Totals != exp.Totals {
		t.Fatalf("digests %s, want one with totals %+v", jsonOf(ds), exp.Totals)
	}
	if cp := f.checkpoint(); !cp.End.Equal(ds[0].Window.To) {
		t.Errorf("checkpoint %+v, want end %s", cp, ds[0].Window.To)
	}
	select {
	case m := <-notes:
		if !strings.HasPrefix(m["Subject"], "Flow log digest") || !strings.Contains(m["Message"], "VPC flow log digest for "+flowGroup) {
			t.Errorf("SNS notification %q / %q", m["Subject"], m["Message"])
		}
	case <-time.After(10 * time.Second):
		t.Error("no SNS notification reached the subscriber")
	}
	log := rie.Log()
	if !strings.Contains(log, `"CloudWatchMetrics"`) || !strings.Contains(log, `"AcceptedBytes"`) {
		t.Errorf("no embedded metrics in the function's output:\n%s", log)
	}
}
