package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// S3 mode, end to end. moto's S3 holds the objects, but moto delivers no
// flow logs: the harness writes them as the service would, with
// flowrecordtest's writer (AWS's key layout, file names, Parquet columns
// and gzip text). The staged runs (S3Bench, on the harness synthesized
// for the log group destination) make their bucket here and give the
// summarizer its name and layout in its environment; the S3 story
// (s3story.go) runs on a stack synthesized with destination s3, its
// bucket and the summarizer's environment the template's.

// FlowLogBucket is the bucket the S3 runs deliver to.
const FlowLogBucket = "vpc-flow-logs-e2e"

// S3Client returns a client of moto's S3 for the harness's own calls.
// Path-style addressing: a loopback endpoint has no bucket subdomains.
func (h *Harness) S3Client() *s3.Client {
	return s3.NewFromConfig(testenv.AWSConfig(h.Moto.URL), func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// S3Env is the summarizer's environment for reading layout's objects in
// FlowLogBucket (settings.SummarizerSourceFromEnv reads it).
func S3Env(layout flowrecordtest.S3Layout) []string {
	return []string{
		settings.EnvDestination + "=" + settings.DestinationS3,
		settings.EnvBucketARN + "=arn:aws:s3:::" + FlowLogBucket,
		settings.EnvBucketPrefix + "=" + layout.Prefix,
		settings.EnvFileFormat + "=" + layout.FileFormat,
		settings.EnvHiveCompatible + "=" + fmt.Sprint(layout.HiveCompatible),
		settings.EnvPerHourPartition + "=" + fmt.Sprint(layout.PerHour),
	}
}

// S3Delivery is what DeliverS3 wrote.
type S3Delivery struct {
	Objects []flowrecordtest.S3Object
	Records int
	// Expected is the generator's own tally: what the digests of all the
	// objects must add up to.
	Expected flowrecord.Summary
	// Interfaces are the interfaces the records name: each is new in
	// exactly one digest.
	Interfaces []string
}

// DeliverS3 plays the delivery service for S3: it generates records and
// puts them in FlowLogBucket as layout's files, one per 5-minute period
// (created first when missing). Every record ends at least 5 minutes
// before the last whole 5 minutes before now, so that every object's
// delivery time (the end of its period) lies before the minute now is in:
// the last staged run's window holds it.
func DeliverS3(ctx context.Context, c *s3.Client, layout flowrecordtest.S3Layout, seed int64, records int, opts flowrecord.Options) (S3Delivery, error) {
	return DeliverS3To(ctx, c, FlowLogBucket, layout, seed, records, opts)
}

// DeliverS3To is DeliverS3 into bucket.
func DeliverS3To(ctx context.Context, c *s3.Client, bucket string, layout flowrecordtest.S3Layout, seed int64, records int, opts flowrecord.Options) (S3Delivery, error) {
	return DeliverS3ENIs(ctx, c, bucket, layout, seed, records, nil, opts)
}

// DeliverS3ENIs is DeliverS3To with the records' interfaces those of
// enis, as Deliver maps them (each line's interface-id, and vpc-id and
// subnet-id when the format has them), so that the summarizer finds the
// interfaces in EC2; with no enis, six interfaces the generator makes up.
func DeliverS3ENIs(ctx context.Context, c *s3.Client, bucket string, layout flowrecordtest.S3Layout, seed int64, records int, enis []ENI, opts flowrecord.Options) (S3Delivery, error) {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		var owned interface{ ErrorCode() string }
		if !errors.As(err, &owned) || owned.ErrorCode() != "BucketAlreadyOwnedByYou" {
			return S3Delivery{}, fmt.Errorf("creating bucket %s: %w", bucket, err)
		}
	}
	last := time.Now().UTC().Truncate(5 * time.Minute).Add(-6 * time.Minute)
	interfaces := len(enis)
	if interfaces == 0 {
		interfaces = 6
	}
	cfg := flowrecordtest.Config{
		Seed: seed, Records: records, Interfaces: interfaces,
		StartTime: last.Add(-49 * time.Minute).Unix(), Span: int64((49 * time.Minute).Seconds()),
	}
	gen := flowrecordtest.NewGenerator(cfg)
	var objs []flowrecordtest.S3Object
	var err error
	if len(enis) == 0 {
		objs, err = flowrecordtest.GenerateObjects(gen, layout, 1000)
	} else {
		objs, err = generateObjectsFor(gen, layout, enis)
	}
	if err != nil {
		return S3Delivery{}, fmt.Errorf("writing the objects: %w", err)
	}
	for _, o := range objs {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.Key), Body: bytes.NewReader(o.Body)}); err != nil {
			return S3Delivery{}, fmt.Errorf("putting %s: %w", o.Key, err)
		}
	}
	d := S3Delivery{Objects: objs, Records: records, Expected: gen.Expected(opts), Interfaces: gen.InterfaceIDs()}
	if len(enis) > 0 {
		byGen := map[string]ENI{}
		d.Interfaces = nil
		for i, id := range gen.InterfaceIDs() {
			byGen[id] = enis[i]
			d.Interfaces = append(d.Interfaces, enis[i].ID)
		}
		d.Expected = mapInterfaces(d.Expected, byGen)
	}
	return d, nil
}

// generateObjectsFor runs gen to its end with each line's interface
// rewritten to its ENI, and writes the lines as flow log files.
func generateObjectsFor(gen *flowrecordtest.Generator, layout flowrecordtest.S3Layout, enis []ENI) ([]flowrecordtest.S3Object, error) {
	byGen := map[string]ENI{}
	for i, id := range gen.InterfaceIDs() {
		byGen[id] = enis[i]
	}
	format := gen.Format()
	parser := flowrecord.NewParser(format)
	var rec flowrecord.Record
	var lines []string
	var ends []int64
	for gen.Next() {
		line := rewrite(gen.Line(), format, byGen[gen.InterfaceID()])
		if err := parser.Parse(line, &rec); err != nil {
			return nil, fmt.Errorf("a generated line does not parse: %w", err)
		}
		if !rec.Has(flowrecord.FieldEnd) {
			return nil, fmt.Errorf("line %q has no end to date its file", line)
		}
		lines, ends = append(lines, line), append(ends, rec.End)
	}
	return flowrecordtest.Deliver(layout, format, lines, ends, 1000)
}

// S3Bench runs staged summarizers in S3 mode through a motoproxy whose
// hooks fault a seeded share of the functions' calls: the Faults hook for
// the JSON and query protocols (DynamoDB, CloudWatch Logs), S3Faults for
// S3's REST calls, which the Faults hook leaves alone.
type S3Bench struct {
	h           *Harness
	Layout      flowrecordtest.S3Layout
	Proxy       *motoproxy.Proxy
	Faults      *motoproxy.Faults
	S3Faults    *S3Faults
	Summarizers []*Function
	// FailStage, when not 0, makes the first run of that stage (1 to 3)
	// fail: every object it fetches is cut short. The next run redoes
	// the window.
	FailStage int
}

// NewS3Bench starts the proxy and one summarizer per SummaryStages lag.
func (h *Harness) NewS3Bench(layout flowrecordtest.S3Layout) (b *S3Bench, err error) {
	b = &S3Bench{h: h, Layout: layout, S3Faults: NewS3Faults()}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if b.Faults, err = motoproxy.NewFaults(motoproxy.FaultConfig{}); err != nil {
		return nil, err
	}
	if b.Proxy, err = motoproxy.New(h.Moto.URL); err != nil {
		return nil, err
	}
	b.Proxy.AddHook(b.S3Faults.Hook)
	b.Proxy.AddHook(b.Faults.Hook)
	for _, lag := range SummaryStages {
		env := append(S3Env(layout), settings.EnvSettleLag+"="+lag.String(), settings.EnvSchedulePeriod+"="+StagePeriod.String())
		fn, err := h.StartSummarizer(b.Proxy.URL, env...)
		if err != nil {
			return nil, err
		}
		b.Summarizers = append(b.Summarizers, fn)
	}
	return b, nil
}

// Close stops the functions and the proxy.
func (b *S3Bench) Close() {
	for _, s := range b.Summarizers {
		s.Close()
	}
	if b.Proxy != nil {
		b.Proxy.Close()
	}
}

// S3Run is what one seeded S3 run saw.
type S3Run struct {
	Seed                       uint64
	Objects, Records           int
	SummarizerRuns, FailedRuns int
	Windows, RepeatedDigests   int
	// ObjectsRead adds up the digests' read.objects: with every window
	// read once, the objects delivered.
	ObjectsRead uint64
	Problems    []string
	Stats       motoproxy.FaultStats
	S3Stats     S3FaultStats
	Took        time.Duration
}

func (r *S3Run) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// RunS3 delivers records as objects (no faults: AWS's side), runs the
// staged summarizers with rate of their calls faulted, each stage until an
// invocation succeeds (six at most), and checks that the consecutive
// digests add up exactly to what was delivered, each object read once.
func (b *S3Bench) RunS3(ctx context.Context, seed uint64, rate float64, records int) (*S3Run, error) {
	started := time.Now()
	run := &S3Run{Seed: seed, Records: records}
	b.Faults.SetRate(0)
	b.S3Faults.Set(seed, 0)
	if err := b.h.Reset(ctx); err != nil {
		return nil, err
	}
	opts := flowrecord.Options{TopK: 10, MaxTracked: digest.DefaultMaxTracked, MalformedSamples: digest.DefaultMalformedSamples}
	del, err := DeliverS3(ctx, b.h.S3Client(), b.layout(), int64(seed), records, opts)
	if err != nil {
		return nil, err
	}
	run.Objects = len(del.Objects)
	b.Faults.Reseed(seed)
	b.Faults.ResetStats()
	b.Faults.SetRate(rate)
	b.S3Faults.Set(seed, rate)
	defer func() { b.Faults.SetRate(0); b.S3Faults.Set(seed, 0) }()
	for stage, fn := range b.Summarizers {
		b.invoke(ctx, run, stage, fn)
	}
	stored, err := ReadDigests(ctx, b.h.Clients, b.h.Stack.DigestLogGroup)
	if err != nil {
		return nil, err
	}
	windows, repeats, err := Chain(stored)
	if err != nil {
		run.problem("digests: %v", err)
	}
	run.Windows, run.RepeatedDigests = len(windows), repeats
	for _, d := range windows {
		run.ObjectsRead += d.Read.Objects
		if d.Read.BadObjects != 0 {
			run.problem("window %s: %d objects could not be read: %v", d.Window.From, d.Read.BadObjects, d.Warnings)
		}
	}
	if run.ObjectsRead != uint64(run.Objects) {
		run.problem("the digests read %d objects, %d were delivered", run.ObjectsRead, run.Objects)
	}
	for _, d := range SumDigestsDiff(windows, del.Expected) {
		run.problem("%s", d)
	}
	for _, p := range newOnce(windows, del.Interfaces) {
		run.problem("%s", p)
	}
	run.Stats, run.S3Stats, run.Took = b.Faults.Stats(), b.S3Faults.Stats(), time.Since(started)
	return run, nil
}

// layout is the bench's layout for the harness's account and region.
func (b *S3Bench) layout() flowrecordtest.S3Layout {
	l := b.Layout
	env := envLookup(b.h.Stack.Names, b.h.Stack.Summarizer)
	l.Account, l.Region = env(settings.EnvSourceAccount), env(settings.EnvSourceRegion)
	return l
}

func (b *S3Bench) invoke(ctx context.Context, run *S3Run, stage int, fn *Function) {
	for attempt := 1; ; attempt++ {
		run.SummarizerRuns++
		fail := stage+1 == b.FailStage && attempt == 1
		b.S3Faults.CutAll(fail)
		_, err := fn.Invoke(ctx, b.h.Stack.SummaryEvent())
		b.S3Faults.CutAll(false)
		if fail && err == nil {
			run.problem("stage %d: the run whose every fetch was cut short did not fail", stage+1)
		}
		if err == nil {
			return
		}
		run.FailedRuns++
		if attempt == 6 {
			run.problem("summarizer stage %d failed %d times, last: %v", stage+1, attempt, err)
			return
		}
	}
}

// String summarises a run in one line.
func (r *S3Run) String() string {
	return fmt.Sprintf("seed %d: %d objects, %d records; S3 %s; other calls %d requests, %d faults; %d summarizer runs (%d failed), %d windows, %d repeated digests, %d objects read; %s; problems: %d",
		r.Seed, r.Objects, r.Records, r.S3Stats, r.Stats.Requests, r.Stats.TotalFaults(), r.SummarizerRuns, r.FailedRuns,
		r.Windows, r.RepeatedDigests, r.ObjectsRead, r.Took.Round(time.Millisecond), len(r.Problems))
}

// newOnce says how the digests' new interfaces differ from ids each
// listed by exactly one digest: S3 mode dates an interface by the first
// window that has its records (digest's s3interfaces.go), whatever runs
// failed on the way.
func newOnce(windows []digest.Digest, ids []string) []string {
	listed := map[string][]string{}
	for _, d := range windows {
		if d.NewInterfaces.Count != len(d.NewInterfaces.Items) {
			return []string{fmt.Sprintf("window %s: %d new interfaces, %d listed", d.Window.From, d.NewInterfaces.Count, len(d.NewInterfaces.Items))}
		}
		for _, n := range d.NewInterfaces.Items {
			listed[n.InterfaceID] = append(listed[n.InterfaceID], d.Window.From.Format(time.TimeOnly))
		}
	}
	var out []string
	for _, id := range ids {
		if w := listed[id]; len(w) != 1 {
			out = append(out, fmt.Sprintf("interface %s listed as new by %d digests (windows %v), want 1", id, len(w), w))
		}
		delete(listed, id)
	}
	for id := range listed {
		out = append(out, fmt.Sprintf("interface %s listed as new, but no record names it", id))
	}
	return out
}
