package digest_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// centralPrefix is the destination prefix of the organization's flow logs
// in the hub's central bucket.
const centralPrefix = "org"

// s3OrgWorld is orgWorld whose summarizer reads a central bucket in the
// hub account (moto's default account), where the test plays the delivery
// service of every member account-region (flowrecordtest's writer: AWS's
// key layout, with the account and region in the prefix).
type s3OrgWorld struct {
	*orgWorld
	s3 *s3.Client
}

func newS3OrgWorld(t *testing.T) *s3OrgWorld {
	t.Helper()
	w := &s3OrgWorld{orgWorld: newOrgWorld(t)}
	awsCfg, err := awsconfig.Load(w.f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.s3 = s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	if _, err := w.s3.CreateBucket(w.f.ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	w.f.cfg.S3 = &digest.S3Source{Bucket: bucket, Prefix: centralPrefix, HiveCompatible: true, PerHour: true}
	clients := w.clients
	clients.S3 = w.s3
	if w.o, err = digest.NewOrg(w.f.cfg, w.settings, clients); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *s3OrgWorld) layout(account, region string) flowrecordtest.S3Layout {
	return flowrecordtest.S3Layout{Prefix: centralPrefix, Account: account, Region: region,
		FileFormat: flowrecordtest.FileFormatParquet, HiveCompatible: true, PerHour: true}
}

func (w *s3OrgWorld) put(t *testing.T, key string, body []byte) {
	t.Helper()
	if _, err := w.s3.PutObject(w.f.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// deliverS3 puts every deployed account-region's objects in the central
// bucket, records of the 40 minutes that end ten minutes before the
// fixture's minute, a seed of their own each, and keeps each line with its
// object's delivery time, the time that places it in a window.
func (w *s3OrgWorld) deliverS3(t *testing.T, seed int64) {
	t.Helper()
	for i, a := range w.ok {
		for j, r := range orgRegions {
			cfg := flowrecordtest.Config{
				Seed: seed + int64(10*i+j), Records: 1500 + 500*i + 250*j, Interfaces: 3 + i + j, SkipDataShare: 0.01,
				StartTime: w.f.real.Add(-50 * time.Minute).Unix(), Span: int64((40 * time.Minute).Seconds()),
			}
			objs, err := flowrecordtest.GenerateObjects(flowrecordtest.NewGenerator(cfg), w.layout(a, r), 700)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				w.put(t, o.Key, o.Body)
			}
			g := flowrecordtest.NewGenerator(cfg)
			p := flowrecord.NewParser(g.Format())
			var rec flowrecord.Record
			var ts int64
			for g.Next() {
				if err := p.Parse(g.Line(), &rec); err == nil {
					ts = flowrecordtest.PublishTime(rec.End).UnixMilli()
				}
				if g.Line() != "" {
					w.lines[a+"/"+r] = append(w.lines[a+"/"+r], line{ts: ts, text: g.Line()})
				}
			}
		}
	}
}

// TestOrgS3DigestsEachAccountRegionFromTheCentralBucket proves the
// organization mode over a central bucket: each deployed account-region's
// digest, in its own stream of the hub's group, counts exactly the records
// of the objects in its account-region's folder (an independent tally),
// and names the bucket as its source; the account whose reader role is
// missing is reported unreadable (the role is still needed, for the
// interfaces); the roll-up's totals equal the sums of the digests. Keys
// that another principal put in the bucket are not trusted: a file naming
// another member account in this account's folder and a name off the
// layout are named in that digest and not counted, and objects in the
// folder of an account outside the run are never read.
func TestOrgS3DigestsEachAccountRegionFromTheCentralBucket(t *testing.T) {
	w := newS3OrgWorld(t)
	w.deliverS3(t, 3)
	at := w.f.real.Truncate(5 * time.Minute)
	victim := w.layout(w.ok[0], orgRegions[0])
	var one bytes.Buffer
	if err := flowrecordtest.WriteObject(&one, flowrecordtest.FileFormatParquet, flowrecord.DefaultFormat(),
		[]string{w.lines[w.ok[1]+"/"+orgRegions[0]][0].text}, 0); err != nil {
		t.Fatal(err)
	}
	folder := victim.PartitionPrefix(at)
	bad := []string{
		folder + w.ok[1] + "_vpcflowlogs_" + orgRegions[0] + "_fl-0123456789abcdef0_" + at.Format("20060102T1504Z") + "_0000000f.log.parquet",
		folder + "notes.parquet",
	}
	for _, k := range bad {
		w.put(t, k, one.Bytes())
	}
	outsider := w.layout("999999999999", orgRegions[0])
	w.put(t, outsider.Key(at, "0000000e"), one.Bytes())

	tick := w.tick(t)
	if tick.Messages != 6 {
		t.Fatalf("tick %+v, want 3 accounts × 2 regions = 6 messages", tick)
	}
	if dead := w.pump(t); dead != 0 {
		t.Errorf("%d messages dead-lettered, want 0", dead)
	}
	var sum digest.Totals
	for _, a := range w.ok {
		for _, r := range orgRegions {
			ds := w.digestsOf(t, a, r)
			if len(ds) != 1 {
				t.Fatalf("%s %s: %d digests, want 1", a, r, len(ds))
			}
			d := ds[0]
			want, accRej := expectWindow(w.lines[a+"/"+r], flowrecord.DefaultFormat(), d.Window.From, d.Window.To)
			if want.Totals.Records+want.Malformed.Count != uint64(len(w.lines[a+"/"+r])) || d.Totals.Records == 0 {
				t.Fatalf("%s %s: the window [%s, %s) holds %d of %d lines: the test's clock is off", a, r, d.Window.From, d.Window.To,
					want.Totals.Records+want.Malformed.Count, len(w.lines[a+"/"+r]))
			}
			checkDigest(t, d, want, accRej)
			if d.Account != a || d.Region != r || d.OrgRun != tick.RunID || d.LogGroup != "s3://"+bucket+"/"+centralPrefix {
				t.Errorf("%s %s: digest labelled %s %s run %s source %q", a, r, d.Account, d.Region, d.OrgRun, d.LogGroup)
			}
			wantBad := uint64(0)
			if a == w.ok[0] && r == orgRegions[0] {
				wantBad = uint64(len(bad))
			}
			all := strings.Join(d.Warnings, "\n")
			if d.Read.BadObjects != wantBad || strings.Contains(all, "999999999999_") {
				t.Errorf("%s %s: %d bad objects, want %d; warnings:\n%s", a, r, d.Read.BadObjects, wantBad, all)
			}
			for _, k := range bad[:wantBad] {
				if !strings.Contains(all, k) {
					t.Errorf("%s %s: no warning names %s", a, r, k)
				}
			}
			addTo(&sum, d.Totals)
		}
	}
	rs := w.rollups(t)
	if len(rs) != 1 {
		t.Fatalf("%d roll-ups, want 1", len(rs))
	}
	r := rs[0]
	if r.AccountRegions != (digest.RollupCounts{Expected: 6, Digested: 4, Failed: 2}) || r.Totals.Totals != sum.Totals {
		t.Errorf("roll-up counts %+v totals %+v; want 4 digested, 2 failed of 6, totals %+v", r.AccountRegions, r.Totals.Totals, sum.Totals)
	}
	for _, u := range r.Unreadable {
		if u.Account != w.missing {
			t.Errorf("unreadable %+v, want only the account without its reader role", u)
		}
	}
}
