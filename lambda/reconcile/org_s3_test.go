package reconcile_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// centralBucket is the hub's central bucket: moto holds no bucket of that
// name, and EmulateS3FlowLogs stands in for it as AWS's delivery would.
const centralBucket = "arn:aws:s3:::vpcflowlogs-central-" + hubAccount

// TestOrgS3Sweep proves the organization sweep in S3 mode: the hub enabler
// creates each member account's flow logs through the spoke role to the
// hub's central bucket and prefix with the three destination options, no
// log group and no delivery role (what goes on the wire is recorded); a
// flow log of someone else's covers a VPC only when it delivers the same
// way (same bucket, prefix and options), one to the same bucket with
// another file format does not; and a second sweep finds everything
// covered and creates nothing.
func TestOrgS3Sweep(t *testing.T) {
	w := newOrgWorld(t, 2, []string{"us-east-1"})
	w.extraEnv = map[string]string{
		settings.EnvDestination: settings.DestinationS3, settings.EnvBucketARN: centralBucket, settings.EnvBucketPrefix: "org",
		settings.EnvFileFormat: settings.FileFormatParquet, settings.EnvHiveCompatible: "true", settings.EnvPerHourPartition: "true",
		settings.EnvLogGroupName: "", settings.EnvDeliveryRoleARN: "",
	}
	w.handler(false)
	var mu sync.Mutex
	var sent []map[string][]string
	proxy.AddHook(func(_ http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action == "CreateFlowLogs" {
			mu.Lock()
			sent = append(sent, c.Form)
			mu.Unlock()
		}
		return false
	})
	proxy.EmulateS3FlowLogs()
	a0, a1 := w.accounts[0], w.accounts[1]
	tagged, other := w.vpc(a0, "us-east-1", "flowlogs", "on"), w.vpc(a1, "us-east-1", "flowlogs", "on")
	same, textual := w.vpc(a0, "us-east-1", "flowlogs", "on"), w.vpc(a0, "us-east-1", "flowlogs", "on")
	w.theirS3FlowLog(a0, same, types.DestinationFileFormatParquet)
	w.theirS3FlowLog(a0, textual, types.DestinationFileFormatPlainText)
	mu.Lock()
	sent = nil // the setup's own calls
	mu.Unlock()

	w.sweep(2)
	for _, vpc := range []struct{ account, id string }{{a0, tagged}, {a1, other}, {a0, textual}} {
		var ours []types.FlowLog
		for _, fl := range w.s3FlowLogs(vpc.account, vpc.id) {
			if reconcile.IsOwned(fl, testOwner) {
				ours = append(ours, fl)
			}
		}
		if len(ours) != 1 || aws.ToString(ours[0].LogDestination) != centralBucket+"/org" || ours[0].LogDestinationType != types.LogDestinationTypeS3 ||
			ours[0].DestinationOptions == nil || ours[0].DestinationOptions.FileFormat != types.DestinationFileFormatParquet {
			t.Errorf("%s %s: our flow logs %+v, want one to %s/org in Parquet", vpc.account, vpc.id, ours, centralBucket)
		}
	}
	if fls := w.s3FlowLogs(a0, same); len(fls) != 1 || reconcile.IsOwned(fls[0], testOwner) {
		t.Errorf("the VPC whose flow log delivers the same way has %+v, want only theirs", fls)
	}
	mu.Lock()
	var created []string
	for _, form := range sent {
		for k, v := range form {
			if strings.HasPrefix(k, "ResourceId.") {
				created = append(created, v...)
			}
		}
	}
	if want := []string{tagged, other, textual}; !sameSet(created, want) {
		t.Fatalf("CreateFlowLogs for %v, want %v (tagged, other account, plain-text)", created, want)
	}
	for _, form := range sent {
		for k, want := range map[string]string{
			"LogDestinationType": "s3", "LogDestination": centralBucket + "/org", "DestinationOptions.FileFormat": "parquet",
			"DestinationOptions.HiveCompatiblePartitions": "true", "DestinationOptions.PerHourPartition": "true",
			"LogGroupName": "", "DeliverLogsPermissionArn": "",
		} {
			if got := strings.Join(form[k], ","); got != want {
				t.Errorf("%s = %q on the wire, want %q", k, got, want)
			}
		}
	}
	sent = nil
	mu.Unlock()
	got := entries(t, w.coverage())
	c0 := got[a0+"/us-east-1"]
	if want := []string{tagged, textual}; !sameSet(c0.CoveredByUs, want) || !sameSet(c0.CoveredByOthers, []string{same}) {
		t.Errorf("coverage of %s: by us %v (want %v), by others %v (want %v)", a0, c0.CoveredByUs, want, c0.CoveredByOthers, []string{same})
	}

	w.sweep(2)
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 0 {
		t.Errorf("the second sweep created %d flow logs, want none", len(sent))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// spokeViaProxy acts in account through the proxy, whose S3 flow log
// emulation the flow logs to the central bucket need.
func (w *orgWorld) spokeViaProxy(account string) *ec2.Client {
	cfg := clientConfig(proxy.URL)
	cfg.Region = "us-east-1"
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(w.direct),
		"arn:aws:iam::"+account+":role/test-setup"))
	return ec2.NewFromConfig(cfg)
}

// theirS3FlowLog gives vpc a flow log of someone else's to the central
// bucket and prefix, Hive-compatible and per hour, in format.
func (w *orgWorld) theirS3FlowLog(account, vpc string, format types.DestinationFileFormat) {
	w.t.Helper()
	_, err := w.spokeViaProxy(account).CreateFlowLogs(w.ctx, &ec2.CreateFlowLogsInput{
		ResourceIds: []string{vpc}, ResourceType: types.FlowLogsResourceTypeVpc, TrafficType: types.TrafficTypeAll,
		LogDestinationType: types.LogDestinationTypeS3, LogDestination: aws.String(centralBucket + "/org"),
		MaxAggregationInterval: aws.Int32(600),
		DestinationOptions: &types.DestinationOptionsRequest{FileFormat: format,
			HiveCompatiblePartitions: aws.Bool(true), PerHourPartition: aws.Bool(true)},
	})
	if err != nil {
		w.t.Fatal(fmt.Errorf("their flow log on %s: %w", vpc, err))
	}
}

// s3FlowLogs lists a VPC's flow logs through the proxy, which reports the
// destination and options as they were given.
func (w *orgWorld) s3FlowLogs(account, vpc string) []types.FlowLog {
	w.t.Helper()
	out, err := w.spokeViaProxy(account).DescribeFlowLogs(w.ctx, &ec2.DescribeFlowLogsInput{
		Filter: []types.Filter{{Name: aws.String("resource-id"), Values: []string{vpc}}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.FlowLogs
}
