package reconcile_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestOrgSweep proves the organization sweep end to end against moto: the
// schedule enqueues one message per ACTIVE account under the OU (nested
// OUs included, the suspended account left out); each message reconciles
// its account's regions through the assumed spoke role, with the spoke's
// delivery role and the hub's owner tag; an account whose role is missing
// and a region that is not enabled are reported by account-region with the
// reason and stop nothing else; the last account-region writes one
// coverage document and the organization's metrics.
func TestOrgSweep(t *testing.T) {
	regions := []string{"us-east-1", "eu-west-1"}
	w := newOrgWorld(t, 3, regions)
	a0, a1, a2 := w.accounts[0], w.accounts[1], w.accounts[2]
	tagged := w.vpc(a0, "us-east-1", "flowlogs", "on")
	theirs := w.vpc(a0, "us-east-1", "flowlogs", "on")
	_, err := ec2.NewFromConfig(w.spoke(a0, "us-east-1")).CreateFlowLogs(w.ctx, &ec2.CreateFlowLogsInput{
		ResourceIds: []string{theirs}, ResourceType: types.FlowLogsResourceTypeVpc, TrafficType: types.TrafficTypeAll,
		LogGroupName: aws.String(testGroup), DeliverLogsPermissionArn: aws.String("arn:aws:iam::" + a0 + ":role/theirs"),
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := &keyOwners{owner: map[string]string{}}
	proxy.AddHook(denyAssumeRole(a1))
	proxy.AddHook(keys.hook)
	proxy.AddHook(optInRequired("eu-west-1", keys.is(a2)))

	sum := w.sweep(4)
	if sum.Accounts != 3 || sum.AccountRegions != 6 || sum.Inactive != 1 || sum.Messages != 3 {
		t.Errorf("sweep summary %+v, want 3 accounts, 6 account-regions, 1 inactive, 3 messages", sum)
	}
	fls := w.flowLogs(a0, "us-east-1", tagged)
	wantRole := fmt.Sprintf("arn:aws:iam::%s:role/%sus-east-1", a0, settings.SpokeDeliveryRolePrefix)
	if len(fls) != 1 || aws.ToString(fls[0].DeliverLogsPermissionArn) != wantRole || !reconcile.IsOwned(fls[0], testOwner) {
		t.Fatalf("flow logs of the tagged VPC %+v, want one owned by the hub delivering through %s", fls, wantRole)
	}
	docs := w.coverage()
	if len(docs) != 1 || docs[0].Parts != 1 || docs[0].SweepID != sum.SweepID {
		t.Fatalf("%d coverage documents, want one of one part for sweep %s: %+v", len(docs), sum.SweepID, docs)
	}
	tot := docs[0].Totals
	if tot.AccountRegions != 6 || tot.Unreachable != 3 || tot.ByClass[org.ClassRoleUnavailable] != 2 || tot.ByClass[org.ClassRegionNotEnabled] != 1 ||
		tot.VPCs.CoveredByUs != 1 || tot.VPCs.CoveredByOthers != 1 || tot.VPCs.Uncovered != 0 {
		t.Errorf("totals %+v, want 6 account-regions, 3 unreachable (2 role, 1 region), 1 VPC covered by us, 1 by others", tot)
	}
	got := entries(t, docs)
	for _, tc := range []struct {
		name, ar string
		check    func(reconcile.AccountRegionCoverage) bool
	}{
		{"ours and theirs", a0 + "/us-east-1", func(c reconcile.AccountRegionCoverage) bool {
			return c.Reachable && fmt.Sprint(c.CoveredByUs) == fmt.Sprint([]string{tagged}) &&
				fmt.Sprint(c.CoveredByOthers) == fmt.Sprint([]string{theirs}) && c.Counts.OutOfScope == 1
		}},
		{"role missing", a1 + "/eu-west-1", func(c reconcile.AccountRegionCoverage) bool {
			return !c.Reachable && c.Class == org.ClassRoleUnavailable && c.Code == "AccessDenied" && strings.Contains(c.Reason, settings.SpokeEnablerRoleName)
		}},
		{"region not enabled", a2 + "/eu-west-1", func(c reconcile.AccountRegionCoverage) bool {
			return !c.Reachable && c.Class == org.ClassRegionNotEnabled && c.Code == "OptInRequired"
		}},
		{"the same account's other region", a2 + "/us-east-1", func(c reconcile.AccountRegionCoverage) bool {
			return c.Reachable && c.Counts.OutOfScope == 1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, ok := got[tc.ar]; !ok || !tc.check(c) {
				t.Errorf("%s: %+v", tc.ar, c)
			}
		})
	}
	if m := w.metrics.String(); !strings.Contains(m, `"UnreachableAccountRegions":3`) || !strings.Contains(m, `"UncoveredVPCs":0`) ||
		!strings.Contains(m, `"FailedVPCs":0`) {
		t.Errorf("metrics %s, want UnreachableAccountRegions 3, UncoveredVPCs 0 and FailedVPCs 0", m)
	}
	if strings.Contains(w.metrics.String(), a0) {
		t.Error("a metric line names an account: the organization's metrics have no account dimension")
	}
}

// failCreateFlowLogs answers CreateFlowLogs in the accounts keyOf accepts
// as EC2 answers a delivery role it may not pass: HTTP 400, for every VPC
// of the call.
func failCreateFlowLogs(keyOf func(string) bool) motoproxy.Hook {
	return func(rw http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
		if c.Action != "CreateFlowLogs" || !keyOf(credentialKey(r)) {
			return false
		}
		motoproxy.WriteError(rw, http.StatusBadRequest, "InvalidParameter", "injected: the delivery role cannot be passed")
		return true
	}
}

// TestOrgSweepFailedVPCs proves that the organization's FailedVPCs metric
// (the hub's FailedVPCs alarm, no dimensions) is written once per sweep by
// the coverage document's writer: the sum over every account-region of the
// VPCs whose flow log could not be created, here 2 in one account and 1 in
// another, in two regions, with 0 from the third account's VPC that was
// created; each account-region's entry counts its own.
func TestOrgSweepFailedVPCs(t *testing.T) {
	regions := []string{"us-east-1", "eu-west-1"}
	w := newOrgWorld(t, 3, regions)
	a0, a1, a2 := w.accounts[0], w.accounts[1], w.accounts[2]
	w.vpc(a0, "us-east-1", "flowlogs", "on")
	w.vpc(a0, "us-east-1", "flowlogs", "on")
	w.vpc(a1, "eu-west-1", "flowlogs", "on")
	created := w.vpc(a2, "us-east-1", "flowlogs", "on")
	keys := &keyOwners{owner: map[string]string{}}
	proxy.AddHook(keys.hook)
	proxy.AddHook(failCreateFlowLogs(func(key string) bool { return keys.is(a0)(key) || keys.is(a1)(key) }))

	w.sweep(4)
	if fls := w.flowLogs(a2, "us-east-1", created); len(fls) != 1 {
		t.Fatalf("flow logs of %s's tagged VPC: %+v, want one", a2, fls)
	}
	docs := w.coverage()
	if len(docs) != 1 {
		t.Fatalf("%d coverage documents, want one", len(docs))
	}
	if v := docs[0].Totals.VPCs; v.Failed != 3 || v.Uncovered != 3 || v.CoveredByUs != 1 {
		t.Errorf("totals %+v, want 3 failed and uncovered, 1 covered by us", v)
	}
	got := entries(t, docs)
	for ar, want := range map[string]int{a0 + "/us-east-1": 2, a1 + "/eu-west-1": 1, a2 + "/us-east-1": 0, a0 + "/eu-west-1": 0} {
		if c := got[ar]; c.Counts.Failed != want {
			t.Errorf("%s: %d failed, want %d (%+v)", ar, c.Counts.Failed, want, c)
		}
	}
	m := w.metrics.String()
	if n := strings.Count(m, `"FailedVPCs":`); n != 1 || !strings.Contains(m, `"FailedVPCs":3`) {
		t.Errorf("metrics %s: FailedVPCs written %d times, want once, 3", m, n)
	}
}

// TestOrgComplianceMode proves that compliance mode covers a VPC without
// the tag (moto's default VPC of each account-region), and that a dry
// run-free second sweep with nothing to do changes nothing and still
// writes its own coverage document.
func TestOrgComplianceMode(t *testing.T) {
	w := newOrgWorld(t, 1, []string{"us-east-1"})
	w.handler(true)
	w.sweep(2)
	w.sweep(2)
	docs := w.coverage()
	if len(docs) != 2 {
		t.Fatalf("%d coverage documents, want one per sweep", len(docs))
	}
	for i, d := range docs {
		if !d.ComplianceMode || d.Totals.VPCs.CoveredByUs != 1 || d.Totals.VPCs.OutOfScope != 0 || d.Totals.Unreachable != 0 {
			t.Errorf("sweep %d: %+v, want the default VPC covered by us in compliance mode", i+1, d.Totals)
		}
	}
}

// TestOrgCoverageNamesJoinedAccount: the process that writes a sweep's
// coverage document (the one that takes its last message) may hold an
// account listing from an earlier sweep, while another process listed the
// organization for this one; an account that joined in between still
// has its name in the document.
func TestOrgCoverageNamesJoinedAccount(t *testing.T) {
	w := newOrgWorld(t, 1, []string{"us-east-1"})
	w.sweep(1)
	writer := w.h // holds a listing of one member

	api := organizations.NewFromConfig(w.direct)
	out, err := api.CreateAccount(w.ctx, &organizations.CreateAccountInput{AccountName: aws.String("joined"), Email: aws.String("joined@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	joined := aws.ToString(out.CreateAccountStatus.AccountId)
	if _, err := api.MoveAccount(w.ctx, &organizations.MoveAccountInput{AccountId: aws.String(joined), SourceParentId: aws.String(w.root), DestinationParentId: aws.String(w.ou)}); err != nil {
		t.Fatal(err)
	}
	w.handler(false) // another process takes the schedule's event
	if _, err := w.invoke([]byte(`{"detail-type":"Scheduled Event","source":"aws.events"}`)); err != nil {
		t.Fatal(err)
	}
	w.h = writer // and the first takes every message
	w.drain(1)

	docs := w.coverage()
	if len(docs) != 2 {
		t.Fatalf("%d coverage documents, want one per sweep", len(docs))
	}
	got := entries(t, docs[1:])
	for ar, want := range map[string]string{joined + "/us-east-1": "joined", w.accounts[0] + "/us-east-1": "member-000"} {
		if c, ok := got[ar]; !ok || c.AccountName != want {
			t.Errorf("%s: %+v, want its entry named %q", ar, c, want)
		}
	}
}

// spokeEvent renders a tag change or CloudTrail event as a spoke forwards
// it: account and region name the spoke.
func tagEvent(account, region, vpc string) []byte {
	return fmt.Appendf(nil, `{"detail-type":"Tag Change on Resource","source":"aws.tag","account":%q,"region":%q,
		"resources":["arn:aws:ec2:%s:%s:vpc/%s"],"detail":{"service":"ec2","resource-type":"vpc"}}`, account, region, region, account, vpc)
}

func deleteFlowLogsEvent(account, region, issuer string) []byte {
	return fmt.Appendf(nil, `{"detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":%q,"region":%q,
		"detail":{"eventName":"DeleteFlowLogs","userIdentity":{"sessionContext":{"sessionIssuer":{"arn":%q}}},
		"requestParameters":{"DeleteFlowLogsRequest":{"FlowLogId":{"content":"fl-1","tag":1}}}}}`, account, region, issuer)
}

// TestOrgEvents proves what spoke events do: a member's tag event
// reconciles that VPC; the same event again changes nothing; events from
// an account outside the organization or a region not covered are ignored
// without assuming any role; a tag event delivered after the untag event
// that followed it leaves the VPC as its current tags say; the enabler's
// own DeleteFlowLogs is ignored and anyone else's puts the flow log back.
func TestOrgEvents(t *testing.T) {
	w := newOrgWorld(t, 2, []string{"us-east-1"})
	a0, a1 := w.accounts[0], w.accounts[1]
	v1 := w.vpc(a0, "us-east-1", "flowlogs", "on")
	v2 := w.vpc(a1, "us-east-1", "flowlogs", "on")
	spoke1 := ec2.NewFromConfig(w.spoke(a1, "us-east-1"))
	if _, err := spoke1.DeleteTags(w.ctx, &ec2.DeleteTagsInput{Resources: []string{v2}, Tags: []types.Tag{{Key: aws.String("flowlogs")}}}); err != nil {
		t.Fatal(err)
	}
	ours := func(account, vpc string) int {
		n := 0
		for _, fl := range w.flowLogs(account, "us-east-1", vpc) {
			if reconcile.IsOwned(fl, testOwner) {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		name        string
		events      [][]byte
		account     string
		vpc         string
		wantOurs    int
		wantAssumed bool
	}{
		{"a member's tag event", [][]byte{tagEvent(a0, "us-east-1", v1)}, a0, v1, 1, true},
		{"the same event again", [][]byte{tagEvent(a0, "us-east-1", v1)}, a0, v1, 1, true},
		{"an account outside the organization", [][]byte{tagEvent("999999999999", "us-east-1", v1)}, a0, v1, 1, false},
		{"a region not covered", [][]byte{tagEvent(a1, "eu-west-1", v2)}, a1, v2, 0, false},
		{"the tag event after the untag event", [][]byte{tagEvent(a1, "us-east-1", v2), tagEvent(a1, "us-east-1", v2)}, a1, v2, 0, true},
		{"the enabler's own DeleteFlowLogs", [][]byte{deleteFlowLogsEvent(a0, "us-east-1", "arn:aws:iam::"+a0+":role/"+settings.SpokeEnablerRoleName)}, a0, v1, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy.ResetCalls()
			for _, ev := range tc.events {
				if _, err := w.invoke(ev); err != nil {
					t.Fatal(err)
				}
			}
			if got := ours(tc.account, tc.vpc); got != tc.wantOurs {
				t.Errorf("%d flow logs of ours on %s, want %d", got, tc.vpc, tc.wantOurs)
			}
			if assumed := proxy.Count("AssumeRole") > 0 || proxy.Count("DescribeVpcs") > 0; assumed != tc.wantAssumed {
				t.Errorf("spoke reached: %v, want %v (calls %v)", assumed, tc.wantAssumed, proxy.Calls())
			}
		})
	}
	t.Run("someone else's DeleteFlowLogs", func(t *testing.T) {
		spoke0 := ec2.NewFromConfig(w.spoke(a0, "us-east-1"))
		fls := w.flowLogs(a0, "us-east-1", v1)
		if _, err := spoke0.DeleteFlowLogs(w.ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: []string{aws.ToString(fls[0].FlowLogId)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.invoke(deleteFlowLogsEvent(a0, "us-east-1", "arn:aws:iam::"+a0+":role/Admin")); err != nil {
			t.Fatal(err)
		}
		if got := ours(a0, v1); got != 1 {
			t.Errorf("%d flow logs of ours after someone deleted it, want 1 (put back)", got)
		}
	})
}

// TestOrgMessagesNotValid proves that a work message that is not valid is
// dropped (logged, not retried: no batch item failure, no error) before
// any AWS call, whatever is wrong with it.
func TestOrgMessagesNotValid(t *testing.T) {
	w := newOrgWorld(t, 1, []string{"us-east-1"})
	a0 := w.accounts[0]
	for _, tc := range []struct{ name, body string }{
		{"not JSON", "{"},
		{"an account of the wrong shape", `{"kind":"event","account":"1234","region":"us-east-1","trigger":"tag","vpcIds":["vpc-0123456789abcdef0"]}`},
		{"a region not covered", `{"kind":"event","account":"` + a0 + `","region":"eu-west-1","trigger":"tag","vpcIds":["vpc-0123456789abcdef0"]}`},
		{"a sweep id of the wrong shape", `{"kind":"sweep","sweepId":"../../x","account":"` + a0 + `","regions":["us-east-1"],"trigger":"sweep"}`},
		{"an unknown kind", `{"kind":"nuke","account":"` + a0 + `","region":"us-east-1","trigger":"tag"}`},
		{"an unknown trigger", `{"kind":"event","account":"` + a0 + `","region":"us-east-1","trigger":"x"}`},
		{"a VPC id of the wrong shape", `{"kind":"event","account":"` + a0 + `","region":"us-east-1","trigger":"tag","vpcIds":["vpc-\n"]}`},
		{"no region", `{"kind":"event","account":"` + a0 + `","trigger":"tag"}`},
		{"too large", `{"kind":"event","account":"` + a0 + `","region":"us-east-1","trigger":"tag","pad":"` + strings.Repeat("x", 70_000) + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy.ResetCalls()
			raw, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: tc.body, EventSource: "aws:sqs"}}})
			out, err := w.invoke(raw)
			if err != nil {
				t.Fatal(err)
			}
			if resp := out.(events.SQSEventResponse); len(resp.BatchItemFailures) != 0 {
				t.Errorf("batch item failures %+v, want none: the message is dropped", resp.BatchItemFailures)
			}
			if n := proxy.Total(); n != 0 {
				t.Errorf("%d AWS calls %v, want none", n, proxy.Calls())
			}
		})
	}
}

// TestOrgCustomResource proves the custom resource in organization mode:
// Create answers once the sweep is enqueued (the flow logs come with the
// messages), and Delete removes this stack's flow logs from every
// account-region directly, answering success although one account's role
// is gone (nothing there can be removed by the hub, and failing would
// leave the stack undeletable).
func TestOrgCustomResource(t *testing.T) {
	w := newOrgWorld(t, 2, []string{"us-east-1"})
	a0, a1 := w.accounts[0], w.accounts[1]
	v0 := w.vpc(a0, "us-east-1", "flowlogs", "on")
	v1 := w.vpc(a1, "us-east-1", "flowlogs", "on")
	props := map[string]any{
		settings.PropTagKey: "flowlogs", settings.PropTagValues: []any{}, settings.PropLogGroupName: testGroup,
		settings.PropDeliveryRoleARN: testRole, settings.PropTrafficType: "ALL", settings.PropMaxAggregationInterval: "600",
		settings.PropRemoveOnDelete: "true", settings.PropRemoveOnUntag: "true", settings.PropOwner: testOwner,
	}
	ev := cfn.Event{RequestType: cfn.RequestCreate, StackID: testOwner, LogicalResourceID: "Enabler", ResourceProperties: props}
	_, data, err := w.h.CustomResource(w.ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if data["AccountRegions"] != "2" || data["Messages"] != "2" {
		t.Errorf("Create answered %v, want 2 account-regions in 2 messages", data)
	}
	if n := len(w.flowLogs(a0, "us-east-1", v0)); n != 0 {
		t.Errorf("%d flow logs before the messages ran: Create should only enqueue", n)
	}
	w.drain(2)
	for _, vpc := range []struct{ account, id string }{{a0, v0}, {a1, v1}} {
		if n := len(w.flowLogs(vpc.account, "us-east-1", vpc.id)); n != 1 {
			t.Fatalf("%s: %d flow logs after the sweep, want 1", vpc.id, n)
		}
	}
	proxy.AddHook(denyAssumeRole(a1))
	ev.RequestType, ev.PhysicalResourceID = cfn.RequestDelete, reconcile.PhysicalID(testOwner, "Enabler")
	_, data, err = w.h.CustomResource(w.ctx, ev)
	if err != nil {
		t.Fatalf("Delete failed: %v", err)
	}
	if data["Removed"] != "1" || len(w.flowLogs(a0, "us-east-1", v0)) != 0 {
		t.Errorf("Delete answered %v and left %d flow logs on %s, want 1 removed", data, len(w.flowLogs(a0, "us-east-1", v0)), v0)
	}
}
