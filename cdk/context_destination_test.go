package main

import (
	"strings"
	"testing"
)

// TestDestinationContextKeys covers each destination key with a good value
// as the command line gives it and a bad one, whose error must name the
// key, the value and what is allowed; and proves the S3 options reach
// Props.
func TestDestinationContextKeys(t *testing.T) {
	cases := []struct {
		key, good, bad, allowed string
	}{
		{keyDestination, "s3", "firehose", "cloud-watch-logs, s3"},
		{keyBucketARN, "arn:aws:s3:::central-flow-logs", "central-flow-logs", "arn:<partition>:s3:::<bucket>"},
		{keyBucketPrefix, "org/flows", "/flows", "no slash at either end"},
		{keyFileFormat, "plain-text", "json", "parquet, plain-text"},
		{keyHiveCompatiblePartitions, "false", "sometimes", "true or false"},
		{keyPerHourPartition, "false", "hourly", "true or false"},
		{keyAthenaBytesScannedLimit, "10000000", "9999999", "at least 10000000"},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.bad, func(t *testing.T) {
			ctx := cdkJSON(t)
			ctx[c.key] = c.good
			if _, err := PropsFromContext(getter(ctx)); err != nil {
				t.Errorf("%s=%q rejected: %v", c.key, c.good, err)
			}
			ctx[c.key] = c.bad
			_, err := PropsFromContext(getter(ctx))
			if err == nil {
				t.Fatalf("%s=%q accepted", c.key, c.bad)
			}
			for _, want := range []string{c.key, c.allowed, c.bad} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	ctx := cdkJSON(t)
	ctx[keyDestination], ctx[keyBucketPrefix], ctx[keyPerHourPartition] = "s3", "flows", "false"
	p, err := PropsFromContext(getter(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if p.Destination != "s3" || p.S3.Prefix != "flows" || p.S3.FileFormat != "parquet" || *p.S3.PerHourPartition || !*p.S3.HiveCompatiblePartitions {
		t.Errorf("props %+v %+v", p.Destination, p.S3)
	}
	// The summarizer's size follows the destination unless it is set.
	if p.SummarizerMemoryMB != 1769 {
		t.Errorf("S3: summarizer memory %d MB, want 1769", p.SummarizerMemoryMB)
	}
	ctx[keySummarizerMemoryMB] = "512"
	if p, err = PropsFromContext(getter(ctx)); err != nil || p.SummarizerMemoryMB != 512 {
		t.Errorf("S3 with %s=512: %d MB (%v), want 512", keySummarizerMemoryMB, p.SummarizerMemoryMB, err)
	}
	if p, err = PropsFromContext(getter(cdkJSON(t))); err != nil || p.SummarizerMemoryMB != 256 {
		t.Errorf("CloudWatch Logs: summarizer memory %d MB (%v), want 256", p.SummarizerMemoryMB, err)
	}
}
