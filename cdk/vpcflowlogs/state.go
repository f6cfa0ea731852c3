package vpcflowlogs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// newStateTable is the run state table (package runstate): pk and sk
// strings, on-demand, point-in-time recovery on. With key set it is
// encrypted with that key, otherwise with the AWS owned key.
//
// With a customer managed key, the key's policy must let DynamoDB use it on
// behalf of the account's principals (the stack cannot change the policy of
// a key it does not own). The statement AWS documents for DynamoDB:
//
//	{"Effect": "Allow", "Principal": {"AWS": "*"},
//	 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
//	 "Resource": "*",
//	 "Condition": {"StringEquals": {"kms:ViaService": "dynamodb.<region>.amazonaws.com", "kms:CallerAccount": "<account>"}}}
//
// The table is deleted with the stack: it holds no evidence, and a new
// deployment starts one schedule period back.
func newStateTable(scope constructs.Construct, key awskms.IKey) awsdynamodb.Table {
	props := &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(runstate.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(runstate.SortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:    awsdynamodb.TableEncryption_DEFAULT,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	}
	if key != nil {
		props.Encryption, props.EncryptionKey = awsdynamodb.TableEncryption_CUSTOMER_MANAGED, key
	}
	return awsdynamodb.NewTable(scope, jsii.String("State"), props)
}

// wireSummarizerState gives the summarizer the table's name, the key of its
// items (this stack's account and region) and exactly the three calls the
// store makes on the table, plus the key's use through DynamoDB when the
// table has a customer managed key.
func wireSummarizerState(fn awslambda.Function, stack awscdk.Stack, table awsdynamodb.Table, key awskms.IKey) {
	setStateEnv(fn, stack, table)
	grantRunState(fn, stack, table, key, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
}

// setStateEnv gives fn the table's name and the key of its own items (this
// stack's account and region).
func setStateEnv(fn awslambda.Function, stack awscdk.Stack, table awsdynamodb.Table) {
	fn.AddEnvironment(jsii.String(settings.EnvStateTable), table.TableName(), nil)
	fn.AddEnvironment(jsii.String(settings.EnvSourceAccount), stack.Account(), nil)
	fn.AddEnvironment(jsii.String(settings.EnvSourceRegion), stack.Region(), nil)
}

// grantRunState allows fn actions on the table, and the key's use through
// DynamoDB when the table has a customer managed key.
func grantRunState(fn awslambda.Function, stack awscdk.Stack, table awsdynamodb.Table, key awskms.IKey, actions ...string) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("RunState"),
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{table.TableArn()},
	}))
	if key == nil {
		return
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("RunStateKey"),
		Actions:   jsii.Strings("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
		Resources: &[]*string{key.KeyArn()},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"kms:ViaService": "dynamodb." + *stack.Region() + ".amazonaws.com"},
		},
	}))
}
