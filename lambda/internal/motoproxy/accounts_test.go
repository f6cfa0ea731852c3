package motoproxy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
)

const memberAccount = "210987654321"

// assumed returns a config whose credentials come from assuming roleARN
// through the proxy at url.
func assumed(url, roleARN string) aws.Config {
	cfg := awsConfig(url)
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN))
	return cfg
}

// TestAccounts proves the Accounts hook: keys moto issued for a role in
// another account act in that account and Of says so; with RequireRoles a
// missing role is refused as STS refuses it (AccessDenied) while an
// existing one is assumed; Deny refuses an account whatever its roles;
// and ForAccount confines a hook to one account.
func TestAccounts(t *testing.T) {
	p, _ := setup(t)
	ctx := context.Background()
	accts := motoproxy.NewAccounts(shared.Moto(t).URL)
	p.AddHook(accts.Hook)
	var seen []string
	p.AddHook(func(_ http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
		if c.Action == "DescribeVpcs" {
			acct, region := accts.Of(r)
			seen = append(seen, acct+"/"+region)
		}
		return false
	})
	p.AddHook(accts.ForAccount(memberAccount, "", func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action != "DescribeFlowLogs" {
			return false
		}
		motoproxy.WriteError(w, http.StatusForbidden, "UnauthorizedOperation", "denied in the member account only")
		return true
	}))

	// The role is created in the member account with its own keys: moto
	// lets any role ARN be assumed until RequireRoles is on.
	admin := assumed(p.URL, "arn:aws:iam::"+memberAccount+":role/OrganizationAccountAccessRole")
	if _, err := iam.NewFromConfig(admin).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("Spoke"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
	}); err != nil {
		t.Fatal(err)
	}
	accts.RequireRoles(true)
	spoke := ec2.NewFromConfig(assumed(p.URL, "arn:aws:iam::"+memberAccount+":role/Spoke"))
	if _, err := spoke.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	count := func(api *ec2.Client) int {
		out, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Vpcs)
	}
	own := ec2.NewFromConfig(awsConfig(p.URL))
	if a, b := count(spoke), count(own); a != b+1 {
		t.Errorf("the member account sees %d VPCs and the default account %d: want the member's VPC in the member account only", a, b)
	}
	if want := []string{memberAccount + "/us-east-1", motoproxy.DefaultAccount + "/us-east-1"}; strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("Of saw %v, want %v", seen, want)
	}
	if _, err := spoke.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{}); errorCode(err) != "UnauthorizedOperation" {
		t.Errorf("DescribeFlowLogs in the member account: %v, want the ForAccount hook's UnauthorizedOperation", err)
	}
	if _, err := own.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{}); err != nil {
		t.Errorf("DescribeFlowLogs in the default account: %v, want it untouched by the member's hook", err)
	}

	tests := []struct {
		name, role, deny, wantCode, wantIn string
	}{
		{name: "missing role", role: "VpcFlowLogsSpokeEnabler", wantCode: "AccessDenied", wantIn: "does not exist"},
		{name: "denied account", role: "Spoke", deny: "an SCP denies sts:AssumeRole", wantCode: "AccessDenied", wantIn: "an SCP denies"},
		{name: "existing role", role: "Spoke"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			accts.Deny(memberAccount, tc.deny)
			defer accts.Deny(memberAccount, "")
			_, err := sts.NewFromConfig(awsConfig(p.URL)).AssumeRole(ctx, &sts.AssumeRoleInput{
				RoleArn: aws.String("arn:aws:iam::" + memberAccount + ":role/" + tc.role), RoleSessionName: aws.String("test"),
			})
			if got := errorCode(err); got != tc.wantCode || (err != nil && !strings.Contains(err.Error(), tc.wantIn)) {
				t.Errorf("AssumeRole %s: %v, want code %q mentioning %q", tc.role, err, tc.wantCode, tc.wantIn)
			}
		})
	}
}
