// Command cdk is the CDK app of the VPC flow logs tool: it reads the
// configuration from the CDK context (cdk.json, overridable with
// `cdk synth -c key=value`), checks it, and defines one stack.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
)

// StackName is the name of the stack the app defines.
const StackName = "VpcFlowLogs"

// The functions' code as `make build` leaves it, relative to the repository
// root, where cdk.json runs the app. The construct could build it itself;
// the app takes make build's output so that make test, make demo and the
// deployed stack share one build.
const (
	enablerCodeDir    = "build/enabler"
	summarizerCodeDir = "build/summarizer"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if _, err := NewStack(app, StackName); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}

// NewStack reads the context of app and defines the stack (and, in
// organization mode, the spoke stack) with cdk-nag's AWS Solutions checks
// applied.
func NewStack(app awscdk.App, name string) (awscdk.Stack, error) {
	all, ok := app.Node().GetAllContext(nil).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the app's context is a %T, not a map of keys", app.Node().GetAllContext(nil))
	}
	warnings, err := UnknownContextKeys(all)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	props, err := PropsFromContext(app.Node().TryGetContext)
	if err != nil {
		return nil, err
	}
	props.EnablerCode = awslambda.Code_FromAsset(jsii.String(enablerCodeDir), nil)
	props.SummarizerCode = awslambda.Code_FromAsset(jsii.String(summarizerCodeDir), nil)
	stack := awscdk.NewStack(app, jsii.String(name), &awscdk.StackProps{
		Env:         environment(os.Getenv),
		Description: jsii.String("Keeps a flow log on every tagged VPC and digests the records"),
	})
	if _, err := vpcflowlogs.New(stack, "VpcFlowLogs", props); err != nil {
		return nil, err
	}
	// Organization mode: the spoke template the hub's StackSet carries
	// inline, also as a stack of the app, so that cdk.out holds it as
	// VpcFlowLogsSpoke.template.json for cdk-nag, cfn-lint and anyone
	// deploying it by hand (the management account, which a
	// service-managed StackSet never deploys to). It is never deployed by
	// `cdk deploy VpcFlowLogs`.
	if props.Organization.ID != "" {
		if _, err := vpcflowlogs.NewSpoke(app, vpcflowlogs.SpokeStackName, props); err != nil {
			return nil, err
		}
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return stack, nil
}

// environment pins the stack to an account and region only when both
// CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION are set; otherwise the template
// is environment-agnostic.
func environment(getenv func(string) string) *awscdk.Environment {
	account, region := getenv("CDK_DEFAULT_ACCOUNT"), getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}
