// Package athenaquery holds what Athena needs to read the flow log files
// that VPC Flow Logs delivers to S3, as Go values that the CDK construct
// (cdk/vpcflowlogs/athena.go) and the tests share: the Glue table's
// columns, storage and partition projection (Table), and the named queries
// a person runs (Queries).
//
// The table matches the key layout AWS writes exactly (the VPC user
// guide's "Flow log files" page, flow-logs-s3-path):
//
//	<prefix>/AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=<yyyy>/month=<mm>/day=<dd>/hour=<hh>/<file>
//
// or, without Hive-compatible prefixes, the same path without the "name="
// parts, and without the hour folder when files are partitioned by day.
// Partition projection computes the partitions from the query's filter on
// the partition columns, so nothing loads partitions (no crawler, no MSCK
// REPAIR TABLE, no loader function as in AWS's own integration template).
//
// The columns are the flow log format's fields, named as AWS names them in
// Parquet files ("-" becomes "_": account_id, log_status) and typed as in
// AWS's Athena DDL for Parquet flow logs (the Athena user guide,
// vpc-flow-logs-partition-projection-parquet-example): int for version,
// srcport, dstport, tcp_flags, traffic_path and encryption_status, bigint
// for protocol, packets, bytes, start and end, string for the rest.
// Plain-text files use the same types through LazySimpleSerDe, which reads
// AWS's "-" as NULL.
//
// Every named query selects its time range on the partition columns, so
// Athena reads only the hours (or days) asked for: the range's bounds are
// execution parameters (the ? of the SQL, PartitionKey gives their value).
// The partitions are those of the delivery time in the file's key, not the
// records' start and end; a digest window of whole hours reads the same
// files. The SQL keeps to what Athena (Trino) and DuckDB both run, so the
// tests run the very same text in DuckDB over the same files.
//
// Over an organization's central bucket the account partition is injected
// (a Table with no Accounts: accounts join after deployment), and Athena
// refuses a query without an equality on aws_account_id: ForAccount gives
// each named query the account as its first parameter.
package athenaquery
