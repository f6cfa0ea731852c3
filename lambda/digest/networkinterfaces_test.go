package digest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
)

func TestNewInterfacesDescribedOrGone(t *testing.T) {
	f := newFixture(t)
	vpcID, subnetID := f.network("10.9.0.0/16")
	sg, err := f.ec2.CreateSecurityGroup(f.ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("web"), VpcId: aws.String(vpcID),
	})
	if err != nil {
		t.Fatal(err)
	}
	sgID := aws.ToString(sg.GroupId)
	web := f.eni(subnetID, "web frontend", sgID)
	inst, err := f.ec2.RunInstances(f.ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID),
	})
	if err != nil {
		t.Fatal(err)
	}
	instanceID := aws.ToString(inst.Instances[0].InstanceId)
	instENI := aws.ToString(inst.Instances[0].NetworkInterfaces[0].NetworkInterfaceId)
	// More interfaces than a page or a filter batch holds (both lowered for
	// the test), so that batching and pagination both happen.
	restore := digest.SetDescribeLimits(4, 5)
	defer restore()
	var extra []string
	for i := range 7 {
		extra = append(extra, f.eni(subnetID, "extra "+string(rune('a'+i))))
	}
	const gone = "eni-0123456789abcdef0"

	ids := append([]string{web, instENI, gone}, extra...)
	var lines []line
	start := f.real.Add(-30 * time.Minute).Unix()
	for i, id := range ids {
		for j := range 3 {
			s := start + int64(60*j)
			lines = append(lines, line{
				stream: id + "-all",
				ts:     s * 1000,
				text:   strings.Join([]string{"2", "123456789012", id, "10.9.0.5", "10.9.0.6", "443", "49152", "6", "10", itoa(1000 * (i + 1)), itoa64(s), itoa64(s + 50), "ACCEPT", "OK"}, " "),
			})
		}
	}
	f.put(lines)
	_, p := emulator(t)
	p.ResetCalls()

	if _, err := f.run(f.ctx); err != nil {
		t.Fatal(err)
	}
	d := f.digests()[0]
	if d.NewInterfaces.Count != len(ids) || d.NewInterfaces.Gone != 1 || len(d.NewInterfaces.Items) != len(ids) {
		t.Fatalf("new interfaces %d (%d gone, %d listed), want %d with 1 gone", d.NewInterfaces.Count, d.NewInterfaces.Gone, len(d.NewInterfaces.Items), len(ids))
	}
	items := map[string]digest.NewInterface{}
	for _, n := range d.NewInterfaces.Items {
		items[n.InterfaceID] = n
	}
	w := items[web]
	if w.State != digest.InterfacePresent || w.Description != "web frontend" || w.SubnetID != subnetID || w.VPCID != vpcID ||
		len(w.SecurityGroups) != 1 || w.SecurityGroups[0].ID != sgID || w.Traffic == nil || w.Traffic.Records != 3 {
		t.Errorf("web interface %s", jsonOf(w))
	}
	if i := items[instENI]; i.State != digest.InterfacePresent || i.InstanceID != instanceID {
		t.Errorf("instance interface %s, want attached to %s", jsonOf(i), instanceID)
	}
	if g := items[gone]; g.State != digest.InterfaceGone || g.Traffic == nil || g.Traffic.Records != 3 {
		t.Errorf("missing interface %s, want gone with its traffic", jsonOf(g))
	}
	for _, id := range extra {
		if items[id].State != digest.InterfacePresent {
			t.Errorf("interface %s: %s", id, jsonOf(items[id]))
		}
	}
	// The busiest new interface comes first.
	if first := d.NewInterfaces.Items[0].InterfaceID; first != ids[len(ids)-1] {
		t.Errorf("first listed %s, want the busiest %s", first, ids[len(ids)-1])
	}
	if n := p.Count("DescribeNetworkInterfaces"); n < 3 {
		t.Errorf("%d DescribeNetworkInterfaces calls for %d ids in batches of 4 and pages of 5; want at least 3", n, len(ids))
	}
}
