package digest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/aws/smithy-go"
	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// generator returns a generator whose records start inside the 40 minutes
// that end ten minutes before the fixture's real minute.
func (f *fixture) generator(seed int64, records, interfaces int, format *flowrecord.Format) *flowrecordtest.Generator {
	return flowrecordtest.NewGenerator(flowrecordtest.Config{
		Seed:           seed,
		Records:        records,
		Interfaces:     interfaces,
		Format:         format,
		StartTime:      f.real.Add(-50 * time.Minute).Unix(),
		Span:           int64((40 * time.Minute).Seconds()),
		MalformedShare: 0.002,
	})
}

// checkDigest compares a digest with the expected summary of its window.
func checkDigest(t *testing.T, d digest.Digest, want flowrecord.Summary, accRej [2]uint64) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"totals", d.Totals.Totals, want.Totals},
		{"accepted bytes", d.Totals.AcceptedBytes, accRej[0]},
		{"rejected bytes", d.Totals.RejectedBytes, accRej[1]},
		{"interfaces", d.Totals.Interfaces, len(want.Interfaces)},
		{"NODATA", d.NoData, want.NoData},
		{"SKIPDATA", d.SkipData.SkipData, want.SkipData},
		{"malformed count", d.Malformed.Count, want.Malformed.Count},
		{"top talkers", d.TopTalkers, want.TopTalkers},
		{"top ports", d.TopDstPorts, want.TopDstPorts},
		{"top rejected", d.TopRejectedSources, want.TopRejectedSources},
		{"protocols", d.ByProtocol, want.ByProtocol},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %s\nwant %s", c.name, jsonOf(c.got), jsonOf(c.want))
		}
	}
	if want.SkipData.Records > 0 && !strings.Contains(d.SkipData.Message, "lost") {
		t.Errorf("SKIPDATA message %q does not say records were lost", d.SkipData.Message)
	}
}

func TestDigestEqualsGeneratorTotals(t *testing.T) {
	f := newFixture(t)
	g := f.generator(1, 20_000, 8, nil)
	lines := f.generate(g)
	_, p := emulator(t)
	p.ResetCalls()

	res, err := f.run(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds := f.digests()
	if len(ds) != 1 {
		t.Fatalf("%d digests, want 1", len(ds))
	}
	d := ds[0]
	exp := g.Expected(flowrecord.Options{TopK: 10})
	if d.Totals.Totals != exp.Totals {
		t.Errorf("totals %+v, generator expected %+v", d.Totals.Totals, exp.Totals)
	}
	if d.Malformed.Count != exp.Malformed.Count || d.SkipData.Records != exp.SkipData.Records || d.NoData.Records != exp.NoData.Records {
		t.Errorf("malformed/SKIPDATA/NODATA %d/%d/%d, generator expected %d/%d/%d",
			d.Malformed.Count, d.SkipData.Records, d.NoData.Records, exp.Malformed.Count, exp.SkipData.Records, exp.NoData.Records)
	}
	want, accRej := expectWindow(lines, g.Format(), d.Window.From, d.Window.To)
	checkDigest(t, d, want, accRej)

	wantTo := f.now.Add(-lag).Truncate(time.Minute)
	if !d.Window.To.Equal(wantTo) || !d.Window.From.Equal(wantTo.Add(-2*time.Hour)) || d.Window.Partial {
		t.Errorf("window %+v, want the first schedule period before %s, complete", d.Window, wantTo)
	}
	if d.NewInterfaces.Count != 8 || d.NewInterfaces.Gone != 8 {
		t.Errorf("new interfaces %d (%d gone), want 8 new, all gone from EC2", d.NewInterfaces.Count, d.NewInterfaces.Gone)
	}
	if cp := f.checkpoint(); !cp.End.Equal(d.Window.To) || cp.Partial || cp.Intent != nil || d.Run.Nonce == "" || cp.WrittenBy != d.Run.Nonce {
		t.Errorf("checkpoint %+v, want end %s, complete", cp, d.Window.To)
	}
	if res.Records != exp.Totals.Records || res.FilterCalls != int64(p.Count("FilterLogEvents")) {
		t.Errorf("result %+v; proxy saw %d FilterLogEvents calls", res, p.Count("FilterLogEvents"))
	}
	var emf map[string]any
	if err := json.Unmarshal([]byte(f.cfg.MetricsOutput.(*strings.Builder).String()), &emf); err != nil {
		t.Fatalf("embedded metrics: %v", err)
	}
	for name, want := range map[string]uint64{
		metrics.Records:          exp.Totals.Records,
		metrics.AcceptedBytes:    d.Totals.AcceptedBytes,
		metrics.RejectedBytes:    d.Totals.RejectedBytes,
		metrics.NewInterfaces:    8,
		metrics.SkippedRecords:   exp.SkipData.Records,
		metrics.MalformedRecords: exp.Malformed.Count,
	} {
		if got, _ := emf[name].(float64); uint64(got) != want {
			t.Errorf("metric %s = %v, want %d", name, emf[name], want)
		}
	}
	if _, ok := emf["_aws"]; !ok {
		t.Errorf("metrics line has no _aws metadata: %v", emf)
	}
}

func TestConsecutiveWindowsCountEachRecordOnce(t *testing.T) {
	f := newFixture(t)
	g := f.generator(2, 15_000, 6, nil)
	lines := f.generate(g)
	f.setCheckpoint(f.real.Add(-60 * time.Minute))

	for _, end := range []time.Duration{-35 * time.Minute, -20 * time.Minute, 5 * time.Minute} {
		f.now = f.real.Add(end + lag)
		if _, err := f.run(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	ds := f.digests()
	if len(ds) != 3 {
		t.Fatalf("%d digests, want 3", len(ds))
	}
	checkContiguous(t, ds)
	newIfaces := 0
	for i, d := range ds {
		want, accRej := expectWindow(lines, g.Format(), d.Window.From, d.Window.To)
		t.Run(d.Window.From.Format("15:04"), func(t *testing.T) { checkDigest(t, d, want, accRej) })
		newIfaces += d.NewInterfaces.Count
		if i < 2 && d.NewInterfaces.Count != 0 {
			t.Errorf("digest %d lists %d new interfaces; their streams were created after its window", i, d.NewInterfaces.Count)
		}
	}
	got, malformed, skip, noData := sumTotals(ds)
	exp := g.Expected(flowrecord.Options{})
	if got != exp.Totals || malformed != exp.Malformed.Count || skip != exp.SkipData.Records || noData != exp.NoData.Records {
		t.Errorf("sum over windows %+v (malformed %d, SKIPDATA %d, NODATA %d), generator wrote %+v (%d, %d, %d)",
			got, malformed, skip, noData, exp.Totals, exp.Malformed.Count, exp.SkipData.Records, exp.NoData.Records)
	}
	if newIfaces != 6 {
		t.Errorf("%d new interfaces over the windows, want 6", newIfaces)
	}
}

func TestRunStoppedByDeadlineResumes(t *testing.T) {
	f := newFixture(t)
	g := f.generator(3, 6_000, 5, nil)
	lines := f.generate(g)
	f.cfg.PageLimit = 100
	f.cfg.ReadRate = 20
	f.cfg.Slice = 5 * time.Minute
	f.cfg.Reserve = 1200 * time.Millisecond

	// Each run has 2.5 s, of which 1.3 s for reading: about 26 pages of
	// 100 events, less than half the window. A run whose writes still miss
	// the deadline on a loaded machine fails as a Lambda would, and the
	// next one recovers: the totals must be exact either way.
	partials, failed := 0, 0
	for run := 0; ; run++ {
		if run == 40 {
			t.Fatal("the window was not finished in 40 runs")
		}
		ctx, cancel := context.WithTimeout(f.ctx, 2500*time.Millisecond)
		res, err := f.run(ctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("run %d: %v", run, err)
			}
			failed++
			continue
		}
		if !res.Partial {
			break
		}
		partials++
	}
	if partials == 0 {
		t.Fatal("no run stopped early; the test does not test resuming")
	}
	ds := f.digests()
	checkContiguous(t, ds)
	newIfaces := 0
	for _, d := range ds {
		want, accRej := expectWindow(lines, g.Format(), d.Window.From, d.Window.To)
		checkDigest(t, d, want, accRej)
		newIfaces += d.NewInterfaces.Count
	}
	got, malformed, _, _ := sumTotals(ds)
	exp := g.Expected(flowrecord.Options{})
	if got != exp.Totals || malformed != exp.Malformed.Count {
		t.Errorf("sum over %d digests %+v (malformed %d), generator wrote %+v (%d)", len(ds), got, malformed, exp.Totals, exp.Malformed.Count)
	}
	if newIfaces != 5 {
		t.Errorf("%d new interfaces over the digests, want 5, each once", newIfaces)
	}
	if last := ds[len(ds)-1]; last.Window.Partial || !last.Window.To.Equal(f.now.Add(-lag).Truncate(time.Minute)) {
		t.Errorf("last digest %+v, want complete up to the planned end", last.Window)
	}
	t.Logf("%d runs (%d failed at the deadline), %d digests", partials+failed+1, failed, len(ds))
}

// failCheckpointWrite fails the next write that advances the checkpoint
// (the UpdateItem that removes the intent) with an access error, as a
// checkpoint write denied after the digest went out.
type failCheckpointWrite struct {
	runstate.API
	armed bool
}

func (f *failCheckpointWrite) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.armed && strings.Contains(aws.ToString(in.UpdateExpression), "REMOVE #intent") {
		f.armed = false
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform dynamodb:UpdateItem"}
	}
	return f.API.UpdateItem(ctx, in, o...)
}

// emptyLogPages answers the next n GetLogEvents calls with an empty page
// that carries a new nextForwardToken, as CloudWatch Logs does while a read
// crosses time without events, and returns the count of pages answered.
// Each token is one moto reads as "before the first event" (f/-1, f/-01,
// ...), so the reader that follows it gets every event afterwards; each
// differs from the one before, as it must while the stream has not ended.
func emptyLogPages(p *motoproxy.Proxy, n int) *atomic.Int32 {
	var served atomic.Int32
	p.AddHook(func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action != "GetLogEvents" || served.Load() >= int32(n) {
			return false
		}
		i := served.Add(1)
		tok := "f/-" + strings.Repeat("0", int(i)-1) + "1"
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"events":[],"nextForwardToken":"` + tok + `","nextBackwardToken":"b/0"}`))
		return true
	})
	return &served
}

// A run that wrote its digest and failed to advance the checkpoint left its
// intent; the next run finds the digest carrying the intent's nonce and
// window, adopts it exactly once and reads on from its end.
func TestFailureAfterDigestIsNotCountedTwice(t *testing.T) {
	first := func(*fixture) {}
	later := func(f *fixture) { f.setCheckpoint(f.real.Add(-90 * time.Minute)) }
	for _, tc := range []struct {
		name       string
		checkpoint func(f *fixture)
		// emptyPages is how many empty pages with a token the digest
		// stream answers before its events.
		emptyPages int
	}{
		{"first run", first, 0},
		{"later run", later, 0},
		{"first run, empty pages before the digest", first, 3},
		{"later run, empty pages before the digest", later, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			g := f.generator(4, 8_000, 4, nil)
			lines := f.generate(g)
			tc.checkpoint(f)
			before := f.checkpoint()
			_, p := emulator(t)

			f.now = f.real.Add(lag - 25*time.Minute)
			f.state = &failCheckpointWrite{API: f.db, armed: true}
			if _, err := f.run(f.ctx); err == nil || !strings.Contains(err.Error(), "checkpoint") {
				t.Fatalf("run with the checkpoint write denied: err = %v, want a checkpoint error", err)
			}
			if cp := f.checkpoint(); cp.End != before.End {
				t.Fatalf("checkpoint moved to %s despite the failure", cp.End)
			}
			if n := len(f.digests()); n != 1 {
				t.Fatalf("%d digests after the failed run, want the 1 it wrote", n)
			}

			f.state = nil
			f.now = f.real.Add(lag + 5*time.Minute)
			served := emptyLogPages(p, tc.emptyPages)
			if _, err := f.run(f.ctx); err != nil {
				t.Fatal(err)
			}
			if n := int(served.Load()); n != tc.emptyPages {
				t.Errorf("the run read %d of the %d empty pages", n, tc.emptyPages)
			}
			p.Reset() // the test's own reads see the stream as it is
			ds := f.digests()
			if len(ds) != 2 {
				t.Fatalf("%d digests, want 2", len(ds))
			}
			checkContiguous(t, ds)
			for _, d := range ds {
				want, accRej := expectWindow(lines, g.Format(), d.Window.From, d.Window.To)
				checkDigest(t, d, want, accRej)
			}
			got, _, _, _ := sumTotals(ds)
			if exp := g.Expected(flowrecord.Options{}); got != exp.Totals {
				t.Errorf("sum over digests %+v, generator wrote %+v", got, exp.Totals)
			}
			if cp := f.checkpoint(); !cp.End.Equal(ds[1].Window.To) || cp.Intent != nil {
				t.Errorf("checkpoint %+v, want the second digest's end %s and no intent", cp, ds[1].Window.To)
			}
			// Adopted once: a third run finds nothing more to adopt.
			res, err := f.run(f.ctx)
			if err != nil || !res.Empty || len(f.digests()) != 2 {
				t.Errorf("third run %+v, %v, %d digests; want an empty run and still 2 digests", res, err, len(f.digests()))
			}
		})
	}
}

// network creates a VPC with a subnet and returns their ids.
func (f *fixture) network(cidr string) (vpcID, subnetID string) {
	f.t.Helper()
	vpc, err := f.ec2.CreateVpc(f.ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		f.t.Fatal(err)
	}
	vpcID = aws.ToString(vpc.Vpc.VpcId)
	sub, err := f.ec2.CreateSubnet(f.ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr)})
	if err != nil {
		f.t.Fatal(err)
	}
	return vpcID, aws.ToString(sub.Subnet.SubnetId)
}

func (f *fixture) eni(subnetID, description string, groups ...string) string {
	f.t.Helper()
	out, err := f.ec2.CreateNetworkInterface(f.ctx, &ec2.CreateNetworkInterfaceInput{
		SubnetId: aws.String(subnetID), Description: aws.String(description), Groups: groups,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return aws.ToString(out.NetworkInterface.NetworkInterfaceId)
}

func (f *fixture) flowLog(vpcID string, format *flowrecord.Format) {
	f.t.Helper()
	in := &ec2.CreateFlowLogsInput{
		ResourceIds:              []string{vpcID},
		ResourceType:             ec2types.FlowLogsResourceTypeVpc,
		TrafficType:              ec2types.TrafficTypeAll,
		LogGroupName:             aws.String(flowGroup),
		DeliverLogsPermissionArn: aws.String("arn:aws:iam::123456789012:role/flow-logs-delivery"),
	}
	if format != nil {
		in.LogFormat = aws.String(format.String())
	}
	if _, err := f.ec2.CreateFlowLogs(f.ctx, in); err != nil {
		f.t.Fatal(err)
	}
}

// wideFormat is a version 5 custom format with 29 fields.
const wideFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}"

// shortFormat is a custom format without ${interface-id}: the records take
// the interface of their stream.
const shortFormat = "${srcaddr} ${dstaddr} ${dstport} ${protocol} ${bytes} ${start} ${end} ${action}"

func TestMixedFormatsAndMalformedLines(t *testing.T) {
	f := newFixture(t)
	wide, err := flowrecord.ParseFormat(wideFormat)
	if err != nil {
		t.Fatal(err)
	}
	short, err := flowrecord.ParseFormat(shortFormat)
	if err != nil {
		t.Fatal(err)
	}
	vpcA, subnetA := f.network("10.1.0.0/16")
	vpcB, subnetB := f.network("10.2.0.0/16")
	vpcC, subnetC := f.network("10.3.0.0/16")
	eniA, eniB, eniC := f.eni(subnetA, "wide"), f.eni(subnetB, "default"), f.eni(subnetC, "short")
	f.flowLog(vpcA, wide)
	f.flowLog(vpcB, nil)
	f.flowLog(vpcC, short)

	// Stream A holds its own wide lines, default lines (another flow log's
	// format) and garbage; B default lines; C short lines; a stream of an
	// interface EC2 does not know holds wide lines, read by field count.
	collect := func(g *flowrecordtest.Generator, stream string) []line {
		p := flowrecord.NewParser(g.Format())
		var rec flowrecord.Record
		var out []line
		var ts int64
		for g.Next() {
			if err := p.Parse(g.Line(), &rec); err == nil {
				ts = rec.Start * 1000
			}
			out = append(out, line{stream: stream, ts: ts, text: g.Line()})
		}
		return out
	}
	nogarbage := func(g flowrecordtest.Config) *flowrecordtest.Generator {
		g.StartTime, g.Span, g.MalformedShare = f.real.Add(-50*time.Minute).Unix(), 2400, -1
		return flowrecordtest.NewGenerator(g)
	}
	gWide := nogarbage(flowrecordtest.Config{Seed: 5, Records: 2000, Interfaces: 1, Format: wide})
	gDefault := nogarbage(flowrecordtest.Config{Seed: 6, Records: 800, Interfaces: 1})
	gB := nogarbage(flowrecordtest.Config{Seed: 7, Records: 700, Interfaces: 1})
	gShort := nogarbage(flowrecordtest.Config{Seed: 8, Records: 600, Interfaces: 1, Format: short})
	gGone := nogarbage(flowrecordtest.Config{Seed: 9, Records: 300, Interfaces: 1, Format: wide})
	var lines []line
	lines = append(lines, collect(gWide, eniA+"-all")...)
	lines = append(lines, collect(gDefault, eniA+"-all")...)
	lines = append(lines, collect(gB, eniB+"-all")...)
	lines = append(lines, collect(gShort, eniC+"-all")...)
	lines = append(lines, collect(gGone, "eni-0000000000000dead-all")...)
	ts := f.real.Add(-30 * time.Minute).UnixMilli()
	garbage := []string{
		"not a flow log record",
		"2 123456789012 eni-1 10.0.0.1",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 x 80 6 1 1 1 1 ACCEPT OK",
	}
	for _, text := range garbage {
		lines = append(lines, line{stream: eniA + "-all", ts: ts, text: text})
	}
	f.put(lines)

	if _, err := f.run(f.ctx); err != nil {
		t.Fatal(err)
	}
	ds := f.digests()
	if len(ds) != 1 {
		t.Fatalf("%d digests, want 1", len(ds))
	}
	d := ds[0]
	var want flowrecord.Totals
	for _, g := range []*flowrecordtest.Generator{gWide, gDefault, gB, gShort, gGone} {
		e := g.Expected(flowrecord.Options{}).Totals
		want.Records += e.Records
		want.Bytes += e.Bytes
		want.Accepted += e.Accepted
		want.Rejected += e.Rejected
	}
	if d.Totals.Records != want.Records || d.Totals.Bytes != want.Bytes || d.Totals.Accepted != want.Accepted || d.Totals.Rejected != want.Rejected {
		t.Errorf("totals %+v, want %+v", d.Totals.Totals, want)
	}
	if d.Malformed.Count != uint64(len(garbage)) || len(d.Malformed.Samples) != len(garbage) {
		t.Errorf("malformed %+v, want the %d garbage lines", d.Malformed, len(garbage))
	}
	if d.Read.OtherFormat != gDefault.Expected(flowrecord.Options{}).Totals.Records {
		t.Errorf("%d records read with another format than their stream's, want %d", d.Read.OtherFormat, gDefault.Expected(flowrecord.Options{}).Totals.Records)
	}
	if d.Read.FlowLogs != 3 {
		t.Errorf("%d flow logs, want 3", d.Read.FlowLogs)
	}
	// The short format has no interface-id: its records count under the
	// interface of their stream.
	var shortTotals *flowrecord.InterfaceSummary
	for i := range d.BusiestInterfaces {
		if d.BusiestInterfaces[i].InterfaceID == eniC {
			shortTotals = &d.BusiestInterfaces[i]
		}
	}
	if wantShort := gShort.Expected(flowrecord.Options{}).Totals.Records; shortTotals == nil || shortTotals.Records != wantShort {
		t.Errorf("interface %s (short format) has %+v, want %d records", eniC, shortTotals, wantShort)
	}
}
