package athenaquery_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/athenaquery"
)

// TestLocationTemplate proves that partition projection's template is the
// folder AWS writes for each combination of the destination options, with
// and without a prefix (the VPC user guide's "Flow log files" page).
func TestLocationTemplate(t *testing.T) {
	cases := []struct {
		name string
		t    athenaquery.Table
		want string
	}{
		{"hive, hourly, prefix", athenaquery.Table{Bucket: "b", Prefix: "org/flows", HiveCompatible: true, PerHour: true},
			"s3://b/org/flows/AWSLogs/aws-account-id=${aws_account_id}/aws-service=vpcflowlogs/aws-region=${aws_region}/year=${year}/month=${month}/day=${day}/hour=${hour}/"},
		{"hive, daily", athenaquery.Table{Bucket: "b", HiveCompatible: true},
			"s3://b/AWSLogs/aws-account-id=${aws_account_id}/aws-service=vpcflowlogs/aws-region=${aws_region}/year=${year}/month=${month}/day=${day}/"},
		{"plain, hourly", athenaquery.Table{Bucket: "b", PerHour: true},
			"s3://b/AWSLogs/${aws_account_id}/vpcflowlogs/${aws_region}/${year}/${month}/${day}/${hour}/"},
		{"plain, daily, prefix", athenaquery.Table{Bucket: "b", Prefix: "p"},
			"s3://b/p/AWSLogs/${aws_account_id}/vpcflowlogs/${aws_region}/${year}/${month}/${day}/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.t.LocationTemplate(); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			// Every ${…} of the template is a partition key, and every
			// partition key is in the template: projection needs both.
			for _, k := range c.t.PartitionKeys() {
				if !strings.Contains(c.want, "${"+k.Name+"}") {
					t.Errorf("partition key %s is not in the template", k.Name)
				}
			}
			if n := strings.Count(c.want, "${"); n != len(c.t.PartitionKeys()) {
				t.Errorf("%d placeholders for %d partition keys", n, len(c.t.PartitionKeys()))
			}
		})
	}
}

// TestColumns proves the names and types of the default format's columns
// (AWS's Athena DDL for Parquet flow logs) and of later fields.
func TestColumns(t *testing.T) {
	cols, err := athenaquery.Columns("")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cols {
		got = append(got, c.Name+" "+c.Type)
	}
	want := "version int,account_id string,interface_id string,srcaddr string,dstaddr string,srcport int,dstport int," +
		"protocol bigint,packets bigint,bytes bigint,start bigint,end bigint,action string,log_status string"
	if strings.Join(got, ",") != want {
		t.Errorf("default columns\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	cols, err = athenaquery.Columns("${vpc-id} ${tcp-flags} ${pkt-src-aws-service} ${traffic-path} ${encryption-status} ${ecs-task-id}")
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, c := range cols {
		got = append(got, c.Name+" "+c.Type)
	}
	if want := "vpc_id string,tcp_flags int,pkt_src_aws_service string,traffic_path int,encryption_status int,ecs_task_id string"; strings.Join(got, ",") != want {
		t.Errorf("custom columns %s, want %s", strings.Join(got, ","), want)
	}
	if _, err := athenaquery.Columns("${nope}"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a bad format: %v", err)
	}
}

// TestParameters proves the projection ranges and the text-only header
// skip, and the injected account of an organization's table.
func TestParameters(t *testing.T) {
	text := athenaquery.Table{Bucket: "b", PerHour: true, Accounts: []string{"111111111111", "222222222222"}, Regions: []string{"eu-west-1"}}.Parameters()
	for k, want := range map[string]string{
		"projection.enabled": "true", "projection.hour.range": "0,23", "projection.hour.digits": "2",
		"projection.month.range": "1,12", "projection.day.range": "1,31", "projection.aws_account_id.values": "111111111111,222222222222",
		"projection.aws_region.values": "eu-west-1", "skip.header.line.count": "1",
	} {
		if text[k] != want {
			t.Errorf("%s = %q, want %q", k, text[k], want)
		}
	}
	org := athenaquery.Table{Bucket: "b", Parquet: true}.Parameters()
	if org["projection.aws_account_id.type"] != "injected" || org["skip.header.line.count"] != "" || org["projection.hour.type"] != "" {
		t.Errorf("organization Parquet table parameters %v", org)
	}
}

// TestDDL proves the rendered CREATE statement carries the pieces Athena
// needs, with the column named end quoted.
func TestDDL(t *testing.T) {
	cols, _ := athenaquery.Columns("")
	ddl := athenaquery.Table{Bucket: "b", Parquet: true, HiveCompatible: true, PerHour: true, Columns: cols, Accounts: []string{"1"}, Regions: []string{"r"}}.DDL("db")
	for _, want := range []string{"CREATE EXTERNAL TABLE IF NOT EXISTS `db`.`flow_logs`", "`end` bigint", "PARTITIONED BY (`aws_account_id` string",
		"`hour` string)", "ParquetHiveSerDe", "LOCATION 's3://b/AWSLogs/'", "'projection.enabled'='true'"} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %q:\n%s", want, ddl)
		}
	}
}

// TestPartitionKey proves the bounds' form and their validation.
func TestPartitionKey(t *testing.T) {
	at := time.Date(2026, 12, 3, 23, 59, 0, 0, time.FixedZone("x", 3600))
	if got := athenaquery.PartitionKey(at, true); got != "2026120322" {
		t.Errorf("hourly key %s, want the UTC hour 2026120322", got)
	}
	if got := athenaquery.PartitionKey(at, false); got != "20261203" {
		t.Errorf("daily key %s", got)
	}
	for key, ok := range map[string]bool{"2026120322": true, "20261203": true, "2026120322' OR 1=1": false, "202612": false} {
		if err := athenaquery.ValidatePartitionKey(key); (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", key, err, ok)
		}
	}
}

// TestQueries proves every query has a unique name, a description, and one
// parameter description per ?, and selects its partitions first.
func TestQueries(t *testing.T) {
	for _, perHour := range []bool{true, false} {
		seen := map[string]bool{}
		for _, q := range athenaquery.Queries(perHour) {
			if seen[q.Name] || q.Description == "" {
				t.Errorf("query %q repeated or undescribed", q.Name)
			}
			seen[q.Name] = true
			if n := strings.Count(q.SQL, "?"); n != len(q.Params) {
				t.Errorf("%s: %d parameters, %d described", q.Name, n, len(q.Params))
			}
			if strings.Contains(q.SQL, "hour") != perHour {
				t.Errorf("%s (perHour=%v) partition key: %s", q.Name, perHour, q.SQL)
			}
		}
		if len(seen) != 6 {
			t.Errorf("%d queries, want 6", len(seen))
		}
	}
}
