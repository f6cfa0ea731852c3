package vpcflowlogs

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsathena"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/vpcflowlogs/flowlogs/lambda/athenaquery"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Athena is what the stack defines in S3 mode to query the flow log files:
// a Glue database and table with partition projection, a workgroup whose
// settings queries cannot override, its results bucket, and the named
// queries of package athenaquery.
type Athena struct {
	Database      awsglue.CfnDatabase
	Table         awsglue.CfnTable
	WorkGroup     awsathena.CfnWorkGroup
	ResultsBucket awss3.Bucket
	Queries       []awsathena.CfnNamedQuery
	// DatabaseName and WorkGroupName are the names to give Athena.
	DatabaseName, WorkGroupName string
}

// newAthena defines the Glue table over c.FlowLogBucket and the Athena
// workgroup with the named queries. The table's definition (columns from
// the log format, partition projection over AWS's key layout) is
// athenaquery.Table's, which the tests run in DuckDB.
func newAthena(c *VPCFlowLogs, p Props) *Athena {
	stack := awscdk.Stack_Of(c.Construct)
	scope := constructs.NewConstruct(c.Construct, jsii.String("Athena"))
	a := &Athena{
		// Glue and Athena take lower-case letters, digits and underscores;
		// the construct path makes the name unique in the account.
		DatabaseName:  strings.ToLower(*awscdk.Names_UniqueResourceName(scope, &awscdk.UniqueResourceNameOptions{MaxLength: jsii.Number(128), Separator: jsii.String("_")})),
		WorkGroupName: *awscdk.Names_UniqueResourceName(scope, &awscdk.UniqueResourceNameOptions{MaxLength: jsii.Number(128), Separator: jsii.String("-")}),
	}
	a.Database = awsglue.NewCfnDatabase(scope, jsii.String("Database"), &awsglue.CfnDatabaseProps{
		CatalogId: stack.Account(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(a.DatabaseName),
			Description: jsii.String("VPC flow log files delivered to S3"),
		},
	})
	a.Table = newFlowLogTable(scope, stack, p, a.DatabaseName, *c.FlowLogBucket.BucketName())
	a.Table.Node().AddDependency(a.Database)
	if c.AccessLogBucket == nil {
		c.AccessLogBucket = newAccessLogBucket(c.Construct, p.RetentionDays)
	}
	a.ResultsBucket = awss3.NewBucket(scope, jsii.String("Results"), secureBucketProps(athenaResultsExpiryDays))
	logAccess(a.ResultsBucket, c.AccessLogBucket, "athena-results/")
	a.WorkGroup = newWorkGroup(scope, p, a.WorkGroupName, a.ResultsBucket)
	queries := athenaquery.Queries(*p.S3.PerHourPartition)
	if p.S3.SourceOrganizationID != "" {
		// The account partition is injected (orgbucket.go): each query
		// names its account.
		queries = athenaquery.ForAccount(queries)
	}
	for _, q := range queries {
		nq := awsathena.NewCfnNamedQuery(scope, jsii.String(q.Name), &awsathena.CfnNamedQueryProps{
			Name:        jsii.String(q.Name),
			Description: jsii.String(q.Description + ". Parameters: " + strings.Join(q.Params, "; ")),
			Database:    jsii.String(a.DatabaseName),
			QueryString: jsii.String(q.SQL),
			WorkGroup:   jsii.String(a.WorkGroupName),
		})
		nq.Node().AddDependency(a.WorkGroup, a.Table)
		a.Queries = append(a.Queries, nq)
	}
	return a
}

// newFlowLogTable is the external table over the flow log files.
func newFlowLogTable(scope constructs.Construct, stack awscdk.Stack, p Props, database, bucket string) awsglue.CfnTable {
	cols, err := athenaquery.Columns(p.LogFormat)
	if err != nil {
		panic(err) // Props.validate checked the format with the same parser
	}
	t := athenaquery.Table{
		Bucket: bucket, Prefix: p.S3.Prefix, Parquet: p.S3.FileFormat == settings.FileFormatParquet,
		HiveCompatible: *p.S3.HiveCompatiblePartitions, PerHour: *p.S3.PerHourPartition, Columns: cols,
		Regions: tableRegions(stack, p),
	}
	if p.S3.SourceOrganizationID == "" {
		t.Accounts = []string{*stack.Account()}
	}
	serde, serdeParams, input, output := t.Storage()
	return awsglue.NewCfnTable(scope, jsii.String("Table"), &awsglue.CfnTableProps{
		CatalogId:    stack.Account(),
		DatabaseName: jsii.String(database),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:          jsii.String(athenaquery.TableName),
			Description:   jsii.String("VPC flow log files, partitioned as AWS delivers them (partition projection)"),
			TableType:     jsii.String("EXTERNAL_TABLE"),
			Parameters:    t.Parameters(),
			PartitionKeys: glueColumns(t.PartitionKeys()),
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Columns:      glueColumns(t.Columns),
				Location:     jsii.String(t.Location()),
				InputFormat:  jsii.String(input),
				OutputFormat: jsii.String(output),
				Compressed:   jsii.Bool(true),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
					SerializationLibrary: jsii.String(serde),
					Parameters:           serdeParams,
				},
			},
		},
	})
}

func glueColumns(cols []athenaquery.Column) *[]*awsglue.CfnTable_ColumnProperty {
	out := make([]*awsglue.CfnTable_ColumnProperty, len(cols))
	for i, c := range cols {
		out[i] = &awsglue.CfnTable_ColumnProperty{Name: jsii.String(c.Name), Type: jsii.String(c.Type)}
	}
	return &out
}

// newWorkGroup is the workgroup of the named queries. Its configuration is
// enforced: a query cannot send its results elsewhere, unencrypted, or
// scan more than the cutoff.
func newWorkGroup(scope constructs.Construct, p Props, name string, results awss3.Bucket) awsathena.CfnWorkGroup {
	encryption := &awsathena.CfnWorkGroup_EncryptionConfigurationProperty{EncryptionOption: jsii.String("SSE_S3")}
	if p.KMSKeyARN != "" {
		encryption = &awsathena.CfnWorkGroup_EncryptionConfigurationProperty{EncryptionOption: jsii.String("SSE_KMS"), KmsKey: jsii.String(p.KMSKeyARN)}
	}
	return awsathena.NewCfnWorkGroup(scope, jsii.String("WorkGroup"), &awsathena.CfnWorkGroupProps{
		Name:        jsii.String(name),
		Description: jsii.String("Queries over the VPC flow log files"),
		State:       jsii.String("ENABLED"),
		// The workgroup holds only query history and the named queries,
		// which the stack owns: deleting the stack deletes them.
		RecursiveDeleteOption: jsii.Bool(true),
		WorkGroupConfiguration: &awsathena.CfnWorkGroup_WorkGroupConfigurationProperty{
			EnforceWorkGroupConfiguration:   jsii.Bool(true),
			PublishCloudWatchMetricsEnabled: jsii.Bool(true),
			BytesScannedCutoffPerQuery:      jsii.Number(float64(p.S3.AthenaBytesScannedLimit)),
			ResultConfiguration: &awsathena.CfnWorkGroup_ResultConfigurationProperty{
				OutputLocation:          jsii.String("s3://" + *results.BucketName() + "/results/"),
				EncryptionConfiguration: encryption,
			},
		},
	})
}
