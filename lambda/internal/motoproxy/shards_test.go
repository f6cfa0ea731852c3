package motoproxy_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// vpcCount is how many VPCs with tag shard=yes account sees in the moto
// at url (acting in it through AssumeRole there; "" is the default
// account).
func vpcCount(t *testing.T, url, account string) int {
	t.Helper()
	cfg := awsConfig(url)
	if account != "" {
		cfg = assumed(url, "arn:aws:iam::"+account+":role/Check")
	}
	out, err := ec2.NewFromConfig(cfg).DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{
		Filters: []types.Filter{{Name: aws.String("tag:shard"), Values: []string{"yes"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Vpcs)
}

// TestShards proves that Shards sends a member account's calls, and only
// those, to its account's moto: the AssumeRole through the proxy and every
// call signed with the key it returned land in that shard, the hub's own
// calls in the proxy's moto, and a routed call keeps the proxy's rewrites
// (its pagination).
func TestShards(t *testing.T) {
	p, _ := setup(t)
	var urls []string
	for range 2 {
		m, err := testenv.StartMoto()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		urls = append(urls, m.URL)
	}
	s, err := motoproxy.NewShards(urls...)
	if err != nil {
		t.Fatal(err)
	}
	p.AddHook(s.Hook)
	// One member account in each shard.
	members := map[string]string{}
	for i := 100000000000; len(members) < 2; i++ {
		acct := fmt.Sprint(i)
		if _, seen := members[s.URL(acct)]; !seen {
			members[s.URL(acct)] = acct
		}
	}
	ctx := context.Background()
	create := func(api *ec2.Client, n int) {
		for range n {
			_, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: []types.TagSpecification{{
				ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("shard"), Value: aws.String("yes")}}}}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	create(ec2.NewFromConfig(awsConfig(p.URL)), 1) // the hub's own
	for i, u := range urls {
		create(ec2.NewFromConfig(assumed(p.URL, "arn:aws:iam::"+members[u]+":role/Spoke")), 6+i)
	}
	for i, u := range urls {
		other := urls[1-i]
		if got := vpcCount(t, u, members[u]); got != 6+i {
			t.Errorf("account %s in its shard: %d VPCs, want %d", members[u], got, 6+i)
		}
		if got := vpcCount(t, other, members[u]); got != 0 {
			t.Errorf("account %s in the other shard: %d VPCs, want 0", members[u], got)
		}
		if got := vpcCount(t, u, ""); got != 0 {
			t.Errorf("the hub's account in shard %d: %d VPCs, want 0", i, got)
		}
	}
	if got := vpcCount(t, shared.Moto(t).URL, ""); got != 1 {
		t.Errorf("the hub's account in the proxy's moto: %d VPCs, want 1", got)
	}
	page, err := ec2.NewFromConfig(assumed(p.URL, "arn:aws:iam::"+members[urls[0]]+":role/Spoke")).DescribeVpcs(ctx,
		&ec2.DescribeVpcsInput{MaxResults: aws.Int32(5)})
	if err != nil || len(page.Vpcs) != 5 || page.NextToken == nil {
		t.Errorf("a routed DescribeVpcs of 5: %d VPCs, next token %v, %v; want a page of 5 and a token", len(page.Vpcs), page.NextToken, err)
	}
}
