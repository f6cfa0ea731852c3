package digest_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// deliverENIs generates records of six interfaces over the 40 minutes
// that end ten minutes before the fixture's real minute, three of them
// interfaces created in moto's EC2 (so that the digest can describe
// them), and puts them in the bucket as the service would. It returns
// the six ids and the descriptions of the three.
func (f *s3Fixture) deliverENIs(seed int64, records int) (ids []string, described map[string]string) {
	f.t.Helper()
	_, subnet := f.network("10.40.0.0/16")
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{
		Seed: seed, Records: records, Interfaces: 6, MalformedShare: -1,
		StartTime: f.real.Add(-50 * time.Minute).Unix(), Span: int64((40 * time.Minute).Seconds()),
	})
	rename := map[string]string{}
	described = map[string]string{}
	for i, id := range g.InterfaceIDs() {
		if i < 3 {
			desc := fmt.Sprintf("web server %d", i+1)
			eni := f.eni(subnet, desc)
			rename[id], described[eni] = eni, desc
			id = eni
		}
		ids = append(ids, id)
	}
	p := flowrecord.NewParser(g.Format())
	var rec flowrecord.Record
	var lines []string
	var ends []int64
	for g.Next() {
		line := g.Line()
		for from, to := range rename {
			line = strings.Replace(line, " "+from+" ", " "+to+" ", 1)
		}
		if err := p.Parse(line, &rec); err != nil {
			f.t.Fatalf("generated line %q: %v", line, err)
		}
		lines, ends = append(lines, line), append(ends, rec.End)
	}
	objs, err := flowrecordtest.Deliver(f.layout, g.Format(), lines, ends, 700)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, o := range objs {
		f.put(o.Key, o.Body)
	}
	return ids, described
}

// itemized returns, for every interface listed as new by any of ds, how
// many digests listed it, and checks each listed one is described as EC2
// describes it (present with its description) or gone.
func itemized(t *testing.T, ds []digest.Digest, described map[string]string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, d := range ds {
		if d.NewInterfaces.Count != len(d.NewInterfaces.Items) {
			t.Errorf("window %s: count %d, %d items; want all listed", d.Window.From, d.NewInterfaces.Count, len(d.NewInterfaces.Items))
		}
		for _, n := range d.NewInterfaces.Items {
			out[n.InterfaceID]++
			want, ok := described[n.InterfaceID]
			switch {
			case ok && (n.State != digest.InterfacePresent || n.Description != want):
				t.Errorf("%s: state %q, description %q; want present, %q", n.InterfaceID, n.State, n.Description, want)
			case !ok && n.State != digest.InterfaceGone:
				t.Errorf("%s, unknown to EC2: state %q, want gone", n.InterfaceID, n.State)
			case n.Traffic == nil || n.Traffic.Records == 0 || n.Created.IsZero():
				t.Errorf("%s: traffic %+v, created %s; want its records and first start", n.InterfaceID, n.Traffic, n.Created)
			}
		}
	}
	return out
}

// onceEach says whether every id was itemized exactly once.
func onceEach(t *testing.T, got map[string]int, ids []string) {
	t.Helper()
	want := map[string]int{}
	for _, id := range ids {
		want[id] = 1
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("interfaces itemized (id: digests) %v, want each of the six once: %v", got, want)
	}
}

// TestS3NewInterfacesItemizedOnce proves S3 mode itemizes new interfaces
// as the log group mode does: the first window that has an interface's
// records lists it, described from EC2 (or gone), and the windows after
// it, which have its records too, do not.
func TestS3NewInterfacesItemizedOnce(t *testing.T) {
	f := newS3Fixture(t, flowrecordtest.S3Layout{HiveCompatible: true, PerHour: true})
	ids, described := f.deliverENIs(21, 6000)
	final := f.now
	f.cfg.SchedulePeriod = time.Hour
	f.now = final.Add(-23 * time.Minute)
	for range 3 {
		if _, err := f.runS3(); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(17 * time.Minute)
	}
	ds := f.digests()
	checkContiguous(t, ds)
	if len(ds) != 3 || len(ds[1].BusiestInterfaces) != 6 {
		t.Fatalf("%d digests; want three, the second with records of the same six interfaces", len(ds))
	}
	onceEach(t, itemized(t, ds, described), ids)
	if ds[0].NewInterfaces.Count != 6 || ds[1].NewInterfaces.Count+ds[2].NewInterfaces.Count != 0 {
		t.Errorf("new interfaces by window %d, %d, %d; want 6, 0, 0", ds[0].NewInterfaces.Count, ds[1].NewInterfaces.Count, ds[2].NewInterfaces.Count)
	}
}

// failingDigestWrites fails the summarizer's next n digest writes.
type failingDigestWrites struct {
	digest.LogsAPI
	n int
}

func (f *failingDigestWrites) PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error) {
	if f.n > 0 {
		f.n--
		return nil, &smithy.GenericAPIError{Code: "ServiceUnavailableException", Message: "the digest write failed"}
	}
	return f.LogsAPI.PutLogEvents(ctx, in, o...)
}

// TestS3NewInterfacesExactlyOnceWithTheCheckpoint proves a run that fails
// marks no interface seen unless its digest counts: the interfaces are
// itemized exactly once over the digests whatever step failed.
func TestS3NewInterfacesExactlyOnceWithTheCheckpoint(t *testing.T) {
	cases := []struct {
		name string
		// fail arms the failure of the first run; it returns what the
		// error must say.
		fail func(f *s3Fixture, digests *failingDigestWrites) string
		// retries run at the failed run's time, the first failing of
		// them failing too; one more run then reads the rest.
		retries, failing int
	}{
		{"the digest write fails: the retry lists them", func(_ *s3Fixture, d *failingDigestWrites) string { d.n = 1; return "writing the digest" }, 1, 0},
		{"the checkpoint write fails after the digest: adopted, the next window lists none", func(f *s3Fixture, _ *failingDigestWrites) string {
			f.state = &failCheckpointWrite{API: f.db, armed: true}
			return "checkpoint"
		}, 0, 0},
		{"every run of the window fails until it is given up: the next window lists them", func(f *s3Fixture, d *failingDigestWrites) string {
			f.cfg.MaxAttempts, d.n = 2, 2
			return "writing the digest"
		}, 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newS3Fixture(t, flowrecordtest.S3Layout{HiveCompatible: true, PerHour: true})
			ids, described := f.deliverENIs(22, 4000)
			final := f.now
			f.cfg.SchedulePeriod = time.Hour
			f.now = final.Add(-25 * time.Minute)
			digestLogs := &failingDigestWrites{LogsAPI: f.logs}
			want := c.fail(f, digestLogs)
			run := func() error {
				cl := f.clients()
				cl.DigestLogs = digestLogs
				s, err := digest.New(f.cfg, cl)
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Run(f.ctx)
				return err
			}
			if err := run(); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("the failed run: err = %v, want one saying %q", err, want)
			}
			f.state = nil
			for i := range c.retries {
				if err := run(); (err != nil) != (i < c.failing) {
					t.Fatalf("retry %d: err = %v, want the first %d to fail", i+1, err, c.failing)
				}
			}
			f.now = final.Add(time.Hour)
			if err := run(); err != nil {
				t.Fatalf("the run that reads the rest: %v", err)
			}
			ds := f.digests()
			if len(ds) != 2 {
				t.Fatalf("%d digests, want the failed window's and the rest's", len(ds))
			}
			checkContiguous(t, ds)
			if ds[1].Totals.Records == 0 || len(ds[1].BusiestInterfaces) != 6 {
				t.Fatalf("the last digest has %d records of %d interfaces: want the six", ds[1].Totals.Records, len(ds[1].BusiestInterfaces))
			}
			onceEach(t, itemized(t, ds, described), ids)
		})
	}
}

// TestS3NewInterfacesHostileObjectIsBounded proves an object naming more
// distinct interfaces than a window checks (flowrecord's MaxInterfaces)
// costs bounded state and is said: the first MaxInterfaces are counted
// new, the records of the others are named in a warning, the digest lists
// MaxNewInterfaces of them, and the set written stays within a blob.
func TestS3NewInterfacesHostileObjectIsBounded(t *testing.T) {
	f := newS3Fixture(t, flowrecordtest.S3Layout{HiveCompatible: true, PerHour: true})
	at := f.real.Truncate(5 * time.Minute)
	const extra = 50
	n := flowrecord.DefaultMaxInterfaces + extra
	lines := make([]string, 0, n)
	for i := range n {
		lines = append(lines, fmt.Sprintf("2 %s eni-%017x 10.0.0.1 10.0.0.2 40000 443 6 1 40 %d %d ACCEPT OK", account, 0x1000+i, at.Unix()-120, at.Unix()-60))
	}
	var body bytes.Buffer
	if err := flowrecordtest.WriteObject(&body, flowrecordtest.FileFormatParquet, flowrecord.DefaultFormat(), lines, 0); err != nil {
		t.Fatal(err)
	}
	f.put(f.layout.Key(at, "0000000f"), body.Bytes())
	if _, err := f.runS3(); err != nil {
		t.Fatal(err)
	}
	d := f.digests()[0]
	if d.Totals.Records != uint64(n) {
		t.Fatalf("%d records, want the object's %d", d.Totals.Records, n)
	}
	if d.NewInterfaces.Count != flowrecord.DefaultMaxInterfaces || len(d.NewInterfaces.Items) != digest.DefaultMaxNewInterfaces {
		t.Errorf("new interfaces: count %d, %d items; want %d, %d", d.NewInterfaces.Count, len(d.NewInterfaces.Items), flowrecord.DefaultMaxInterfaces, digest.DefaultMaxNewInterfaces)
	}
	said := fmt.Sprintf("only the %d interfaces tracked one by one were checked against those already seen; %d records", flowrecord.DefaultMaxInterfaces, extra)
	if !strings.Contains(strings.Join(d.Warnings, "\n"), said) {
		t.Errorf("no warning says %q:\n%s", said, strings.Join(d.Warnings, "\n"))
	}
	st, err := runstate.New(f.db, stateTable, runstate.Key{Account: account, Region: testenv.Region, Source: runstate.BucketSource(bucket, "")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.LoadBlob(f.ctx, "interfaces#seen")
	if err != nil {
		t.Fatal(err)
	}
	if want := 16 + 13*flowrecord.DefaultMaxInterfaces; len(b.Data) != want || len(b.Data) > runstate.MaxBlobBytes {
		t.Errorf("the set written is %d bytes, want %d (13 a tracked interface), at most %d", len(b.Data), want, runstate.MaxBlobBytes)
	}
}
