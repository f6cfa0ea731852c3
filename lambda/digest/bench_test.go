package digest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// Page limits of FilterLogEvents.
const (
	pageEvents = 10_000
	pageBytes  = 1 << 20
	// eventOverhead is what the page source charges an event besides its
	// message, as PutLogEvents counts a batch; the 1 MB page limit is
	// assumed to count the same way.
	eventOverhead = 26
)

// pageSource is a FilterLogEvents with no network: it serves total events
// spread evenly over [from, to), cycling through pre-generated lines, in
// pages cut at 10,000 events or 1 MB like the service's. Each page holds
// fresh strings, as the SDK's decoder hands over.
type pageSource struct {
	LogsAPI // only FilterLogEvents is served
	lines   []string
	streams []string
	from    int64 // ms
	to      int64 // ms
	total   int64
	// shared serves the pre-generated strings themselves, for a caller
	// that copies them anyway (the SDK transport below).
	shared bool
	// emptyEvery makes every n-th call answer an empty page with a token
	// that resumes where it stood, as the service may.
	emptyEvery int64
	calls      atomic.Int64
	bytes      atomic.Int64
}

func newPageSource(tb testing.TB, total int64, w window, interfaces int) *pageSource {
	tb.Helper()
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{
		Seed: 42, Records: 1 << 16, Interfaces: interfaces,
		StartTime: w.From.Unix(), Span: int64(w.To.Sub(w.From).Seconds()),
	})
	s := &pageSource{from: w.From.UnixMilli(), to: w.To.UnixMilli(), total: total}
	for g.Next() {
		s.lines = append(s.lines, g.Line())
		s.streams = append(s.streams, g.InterfaceID()+"-all")
	}
	return s
}

// index returns the first event whose timestamp is at or after ms.
func (s *pageSource) index(ms int64) int64 {
	if ms <= s.from {
		return 0
	}
	span := s.to - s.from
	i := ((ms-s.from)*s.total + span - 1) / span
	return min(i, s.total)
}

func (s *pageSource) timestamp(i int64) int64 { return s.from + i*(s.to-s.from)/s.total }

func (s *pageSource) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	call := s.calls.Add(1)
	start := s.index(aws.ToInt64(in.StartTime))
	end := s.index(aws.ToInt64(in.EndTime) + 1) // endTime is inclusive
	if in.NextToken != nil {
		n, err := strconv.ParseInt(*in.NextToken, 10, 64)
		if err != nil {
			return nil, errors.New("bad token")
		}
		start = n
	}
	if s.emptyEvery > 0 && call%s.emptyEvery == 0 {
		return &cloudwatchlogs.FilterLogEventsOutput{NextToken: aws.String(strconv.FormatInt(start, 10))}, nil
	}
	limit := int64(pageEvents)
	if in.Limit != nil {
		limit = int64(*in.Limit)
	}
	out := &cloudwatchlogs.FilterLogEventsOutput{Events: make([]logstypes.FilteredLogEvent, 0, min(limit, end-start))}
	size := 0
	i := start
	for ; i < end && int64(len(out.Events)) < limit; i++ {
		j := i % int64(len(s.lines))
		msg := s.lines[j]
		if size+len(msg)+eventOverhead > pageBytes {
			break
		}
		size += len(msg) + eventOverhead
		stream := s.streams[j]
		if !s.shared {
			msg, stream = strings.Clone(msg), strings.Clone(stream)
		}
		out.Events = append(out.Events, logstypes.FilteredLogEvent{
			Message:       aws.String(msg),
			LogStreamName: aws.String(stream),
			Timestamp:     aws.Int64(s.timestamp(i)),
		})
	}
	s.bytes.Add(int64(size))
	if i < end {
		out.NextToken = aws.String(strconv.FormatInt(i, 10))
	}
	return out, nil
}

// minCalls is the fewest FilterLogEvents calls the page limits allow for
// the events served.
func (s *pageSource) minCalls() int64 {
	byCount := (s.total + pageEvents - 1) / pageEvents
	byBytes := (s.bytes.Load() + pageBytes - 1) / pageBytes
	return max(byCount, byBytes)
}

var benchWindow = window{From: mustTime("2026-11-25T18:00:00Z"), To: mustTime("2026-11-25T19:00:00Z")}

func defaultFormats() *formats {
	return &formats{single: flowrecord.DefaultFormat(), candidates: []*flowrecord.Format{flowrecord.DefaultFormat()}, flowLogs: 1}
}

// summarizePages is the in-process path: read every page of the window's
// slices, aggregate, build and encode the digest.
func summarizePages(tb testing.TB, api LogsAPI, slice time.Duration, conc int) (Digest, int) {
	tb.Helper()
	ctx := context.Background()
	r := &reader{api: api, group: "/vpc/flow-logs", fs: defaultFormats(), opts: flowrecord.Options{TopK: 10}}
	out, err := r.readSlices(ctx, ctx, benchWindow.sliceIter(slice), conc)
	if err != nil {
		tb.Fatal(err)
	}
	d := buildDigest(buildInput{
		logGroup: "/vpc/flow-logs", generatedAt: benchWindow.To, window: Window{From: benchWindow.From, To: benchWindow.To},
		summary: out.agg.Summary(), tally: out.t, maxNew: DefaultMaxNewInterfaces, topK: 10,
	})
	b, err := d.encode(MaxDigestBytes)
	if err != nil {
		tb.Fatal(err)
	}
	return d, len(b)
}

// ringSource serves b.N events from a ring of pre-built events, in pages
// cut like the service's, allocating nothing per event: what it times is
// the digest's own path.
type ringSource struct {
	LogsAPI
	events []logstypes.FilteredLogEvent
	pages  []int // start of each page in events; a page ends at the next
	total  int
	served int
}

func newRingSource(tb testing.TB, total int) *ringSource {
	tb.Helper()
	src := newPageSource(tb, 1<<16, benchWindow, 16)
	r := &ringSource{total: total}
	size := 0
	for i, line := range src.lines {
		if i%pageEvents == 0 || size+len(line)+eventOverhead > pageBytes {
			r.pages = append(r.pages, i)
			size = 0
		}
		size += len(line) + eventOverhead
		r.events = append(r.events, logstypes.FilteredLogEvent{
			Message: &src.lines[i], LogStreamName: &src.streams[i], Timestamp: aws.Int64(src.timestamp(int64(i))),
		})
	}
	r.pages = append(r.pages, len(r.events))
	return r
}

func (r *ringSource) FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	at := r.served % len(r.events)
	k := 0
	for r.pages[k+1] <= at {
		k++
	}
	end := min(r.pages[k+1], at+(r.total-r.served))
	out := &cloudwatchlogs.FilterLogEventsOutput{Events: r.events[at:end]}
	r.served += end - at
	if r.served < r.total {
		out.NextToken = aws.String("more")
	}
	return out, nil
}

// BenchmarkSummarizePages times the in-process path on one goroutine: pages
// of events in, digest out, with no network. b.N is the number of records;
// compare records/s with flowrecord's BenchmarkParseAggregate/default.
func BenchmarkSummarizePages(b *testing.B) {
	n := max(b.N, 1)
	src := newRingSource(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	d, _ := summarizePages(b, src, time.Hour, 1)
	cpu = cpuTime() - cpu
	b.StopTimer()
	if d.Totals.Records+d.Malformed.Count != uint64(n) {
		b.Fatalf("%d records and %d malformed, want %d", d.Totals.Records, d.Malformed.Count, n)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
}

// BenchmarkParseAggregateBaseline is flowrecord's BenchmarkParseAggregate
// (default format) repeated here, so that one run of this package measures
// both on the same machine at the same moment: a shared machine's load
// makes figures from separate runs incomparable. records/cpu-s counts the
// process's CPU time, which other processes do not inflate.
func BenchmarkParseAggregateBaseline(b *testing.B) {
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 42, Records: 1 << 16, Interfaces: 16})
	var lines []string
	for g.Next() {
		lines = append(lines, g.Line())
	}
	p := flowrecord.NewParser(flowrecord.DefaultFormat())
	a := flowrecord.NewAggregator(flowrecord.Options{})
	for _, l := range lines {
		a.AddLine(p, l)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		a.AddLine(p, lines[i&(len(lines)-1)])
	}
	cpu = cpuTime() - cpu
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapPeak samples the heap every millisecond until stopped and keeps the
// peaks: objects allocated (live and not yet collected) and memory the
// process holds from the OS and has not released, the closest figure to
// what counts against a Lambda's memory size.
type heapPeak struct {
	stop        chan struct{}
	done        sync.WaitGroup
	objects     uint64
	held        uint64
	baseObjects uint64
	baseHeld    uint64
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{})}
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	read := func() {
		metrics.Read(samples)
		h.objects = max(h.objects, samples[0].Value.Uint64())
		h.held = max(h.held, samples[1].Value.Uint64()-samples[2].Value.Uint64())
	}
	read()
	h.baseObjects, h.baseHeld = h.objects, h.held
	h.done.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				read()
				return
			case <-t.C:
				read()
			}
		}
	})
	return h
}

func (h *heapPeak) end() (objectsMB, heldMB float64) {
	close(h.stop)
	h.done.Wait()
	return float64(h.objects-h.baseObjects) / (1 << 20), float64(h.held-h.baseHeld) / (1 << 20)
}

// sdkTransport answers the SDK's FilterLogEvents requests from a page
// source in process: the real client encodes, sends, decodes and retries,
// with no network.
type sdkTransport struct{ src *pageSource }

func (t sdkTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var in struct {
		StartTime *int64  `json:"startTime"`
		EndTime   *int64  `json:"endTime"`
		NextToken *string `json:"nextToken"`
		Limit     *int32  `json:"limit"`
	}
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		return nil, err
	}
	_ = req.Body.Close()
	page, err := t.src.FilterLogEvents(req.Context(), &cloudwatchlogs.FilterLogEventsInput{
		StartTime: in.StartTime, EndTime: in.EndTime, NextToken: in.NextToken, Limit: in.Limit,
	})
	if err != nil {
		return nil, err
	}
	body := &pageBody{events: page.Events, next: page.NextToken}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Requestid": {"bench"}},
		Body:          body,
		ContentLength: -1,
		Request:       req,
	}, nil
}

// pageBody writes a page's JSON as it is read, one event at a time, so that
// the source holds no encoded page: what the heap holds of a page is then
// what the SDK holds, as when the body comes from the network.
type pageBody struct {
	events  []logstypes.FilteredLogEvent
	next    *string
	i       int
	started bool
	done    bool
	buf     []byte
	off     int
}

func (b *pageBody) fill() {
	b.buf, b.off = b.buf[:0], 0
	switch {
	case !b.started:
		b.started = true
		b.buf = append(b.buf, `{"events":[`...)
	case b.i < len(b.events):
		e := &b.events[b.i]
		if b.i > 0 {
			b.buf = append(b.buf, ',')
		}
		b.i++
		ts := aws.ToInt64(e.Timestamp)
		b.buf = append(b.buf, `{"eventId":"3`...)
		b.buf = strconv.AppendInt(b.buf, ts, 10)
		b.buf = append(b.buf, `0000000000000000000000000000000000000000000","ingestionTime":`...)
		b.buf = strconv.AppendInt(b.buf, ts+300_000, 10)
		b.buf = append(b.buf, `,"logStreamName":`...)
		b.buf = appendJSONString(b.buf, aws.ToString(e.LogStreamName))
		b.buf = append(b.buf, `,"message":`...)
		b.buf = appendJSONString(b.buf, aws.ToString(e.Message))
		b.buf = append(b.buf, `,"timestamp":`...)
		b.buf = strconv.AppendInt(b.buf, ts, 10)
		b.buf = append(b.buf, '}')
	case !b.done:
		b.done = true
		b.buf = append(b.buf, ']')
		if b.next != nil {
			b.buf = append(b.buf, `,"nextToken":`...)
			b.buf = strconv.AppendQuote(b.buf, *b.next)
		}
		b.buf = append(b.buf, '}')
	}
}

// appendJSONString quotes s, which holds no character JSON must escape (the
// generated lines are printable ASCII without quotes or backslashes).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (b *pageBody) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if b.off == len(b.buf) {
			b.fill()
			if len(b.buf) == 0 {
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
		}
		c := copy(p[n:], b.buf[b.off:])
		b.off += c
		n += c
	}
	return n, nil
}

func (b *pageBody) Close() error { return nil }

// sdkClient is a real CloudWatch Logs client whose requests never leave
// the process.
func sdkClient(src *pageSource) *cloudwatchlogs.Client {
	src.shared = true
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://logs.local"),
		Credentials:  aws.AnonymousCredentials{},
		HTTPClient:   &http.Client{Transport: sdkTransport{src}},
	})
}

// BenchmarkSummarizeSDK is BenchmarkSummarizePages through the real SDK
// client: JSON encoding of each page (the page source's side) and its
// decoding (the function's side) included.
func BenchmarkSummarizeSDK(b *testing.B) {
	src := newPageSource(b, int64(max(b.N, 1)), benchWindow, 16)
	api := pacedLogs{LogsAPI: sdkClient(src), filterCalls: new(atomic.Int64)}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	d, _ := summarizePages(b, api, time.Hour, 1)
	cpu = cpuTime() - cpu
	b.StopTimer()
	if d.Totals.Records+d.Malformed.Count != uint64(max(b.N, 1)) {
		b.Fatalf("%d records and %d malformed, want %d", d.Totals.Records, d.Malformed.Count, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
}

// BenchmarkMillionRecords summarizes 1,000,000 records of a one-hour window
// as a run does (six slices, three read at a time) and reports the peak
// heap above what was in use before (the page source's own lines), the
// FilterLogEvents calls against the fewest the page limits allow, and the
// rate. The sdk case reads through the real SDK client.
func BenchmarkMillionRecords(b *testing.B) {
	const records = 1_000_000
	for _, bc := range []struct {
		name string
		api  func(*pageSource) LogsAPI
	}{
		{"pages", func(s *pageSource) LogsAPI { return s }},
		{"sdk", func(s *pageSource) LogsAPI {
			return pacedLogs{LogsAPI: sdkClient(s), filterCalls: new(atomic.Int64)}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				src := newPageSource(b, records, benchWindow, 200)
				api := bc.api(src)
				h := startHeapPeak()
				b.StartTimer()
				started, cpu := time.Now(), cpuTime()
				d, size := summarizePages(b, api, DefaultSlice, DefaultReadConcurrency)
				elapsed, cpu := time.Since(started), cpuTime()-cpu
				b.StopTimer()
				objects, held := h.end()
				if got := d.Totals.Records + d.Malformed.Count; got != records {
					b.Fatalf("%d records read, want %d", got, records)
				}
				calls, least := src.calls.Load(), src.minCalls()
				b.ReportMetric(objects, "peak-heap-MB")
				b.ReportMetric(held, "peak-held-MB")
				b.ReportMetric(float64(calls), "filter-calls")
				b.ReportMetric(float64(least), "min-calls")
				b.ReportMetric(math.Round(float64(calls)/float64(least)*1000)/1000, "calls/min")
				b.ReportMetric(records/elapsed.Seconds(), "records/s")
				b.ReportMetric(records/cpu.Seconds(), "records/cpu-s")
				b.ReportMetric(float64(size), "digest-bytes")
			}
		})
	}
}

// memS3 is an S3API over objects held in memory: ListObjectsV2 by prefix
// in pages of 1,000 keys, GetObject of a whole object. What it times is the
// digest's own path, as ringSource does for the log group.
type memS3 struct {
	keys []string // sorted, as S3 lists them
	objs map[string][]byte
	gets atomic.Int64
}

func newMemS3(objs []flowrecordtest.S3Object) *memS3 {
	m := &memS3{objs: map[string][]byte{}}
	for _, o := range objs {
		m.keys = append(m.keys, o.Key)
		m.objs[o.Key] = o.Body
	}
	slices.Sort(m.keys)
	return m
}

func (m *memS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	prefix := aws.ToString(in.Prefix)
	at, _ := strconv.Atoi(aws.ToString(in.ContinuationToken))
	out := &s3.ListObjectsV2Output{}
	for i := at; i < len(m.keys); i++ {
		if !strings.HasPrefix(m.keys[i], prefix) {
			continue
		}
		if len(out.Contents) == 1000 {
			out.IsTruncated, out.NextContinuationToken = aws.Bool(true), aws.String(strconv.Itoa(i))
			break
		}
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(m.keys[i]), Size: aws.Int64(int64(len(m.objs[m.keys[i]])))})
	}
	return out, nil
}

func (m *memS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	b, ok := m.objs[aws.ToString(in.Key)]
	if !ok {
		return nil, errors.New("no such key")
	}
	m.gets.Add(1)
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ContentLength: aws.Int64(int64(len(b)))}, nil
}

// benchObjects delivers records over benchWindow's hour as the service
// would: one object per 5-minute period, every delivery time inside the
// window.
func benchObjects(tb testing.TB, records, interfaces int, ff string) []flowrecordtest.S3Object {
	tb.Helper()
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{
		Seed: 42, Records: records, Interfaces: interfaces,
		StartTime: benchWindow.From.Add(-4 * time.Minute).Unix(), Span: int64((59 * time.Minute).Seconds()),
	})
	objs, err := flowrecordtest.GenerateObjects(g, flowrecordtest.S3Layout{FileFormat: ff, HiveCompatible: true, PerHour: true}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return objs
}

// benchDecode reads objects over and over on one goroutine, as the S3
// reader reads each object of a slice (s3Source.readObject: GetObject of
// an in-memory object, its body copied into the decoder's buffer, then
// decoded), until at least b.N records are read, and reports records per
// CPU second and allocations per record (the decoder allocates per object:
// opening a Parquet file, its row groups' page readers; nothing per
// record).
func benchDecode(b *testing.B, ff string) {
	benchDecodeObjects(b, benchObjects(b, 1<<16, 16, ff), ff)
}

func benchDecodeObjects(b *testing.B, objs []flowrecordtest.S3Object, ff string) {
	api := newMemS3(objs)
	src := newS3Source(api, S3Source{Bucket: "b", HiveCompatible: true, PerHour: true}, "123456789012", "us-east-1", flowrecord.Options{TopK: 10})
	agg := flowrecord.NewAggregator(flowrecord.Options{TopK: 10})
	d := newObjectDecoder(newLineReader(nil, agg))
	ctx := context.Background()
	read := func(o flowrecordtest.S3Object) {
		if err := src.readObject(ctx, d, o.Key, objectKey{parquet: ff == flowrecordtest.FileFormatParquet}); err != nil {
			b.Fatal(err)
		}
	}
	for _, o := range objs { // warm the tables, as the baseline does
		read(o)
	}
	start := d.lr.t.Events
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; d.lr.t.Events-start < uint64(b.N); i++ {
		read(objs[i%len(objs)])
	}
	cpu = cpuTime() - cpu
	b.StopTimer()
	n := float64(d.lr.t.Events - start)
	runtime.ReadMemStats(&ms)
	if s := agg.Summary(); s.Malformed.Count != 0 || d.lr.t.BadObjects != 0 {
		b.Fatalf("%d malformed records, %d bad objects", s.Malformed.Count, d.lr.t.BadObjects)
	}
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(n/cpu.Seconds(), "records/cpu-s")
	b.ReportMetric(float64(ms.Mallocs-mallocs)/n, "allocs/record")
}

// BenchmarkDecodeParquet times the S3 path's Parquet reading: objects as
// AWS writes them (gzip pages, row groups of 10,000 rows) from their bytes,
// through the S3 reader, records aggregated. b.N is the number of records.
func BenchmarkDecodeParquet(b *testing.B) { benchDecode(b, flowrecordtest.FileFormatParquet) }

// BenchmarkDecodeParquetDictionary is BenchmarkDecodeParquet with every
// column dictionary-encoded (RLE_DICTIONARY data pages over a PLAIN
// dictionary page), as parquet-mr and Arrow write by default; AWS does not
// document its writer's encodings. flowrecordtest writes parquet-go's
// default instead: strings DELTA_LENGTH_BYTE_ARRAY, ints PLAIN. Same
// records, objects and row groups. read-once reads each string dictionary
// value once (flowrecord.Dict); per-row checks each row's value, as before
// it, and as a dictionary over the decoder's budget is read: the two in
// one process, so that a shared machine's load weighs on both alike.
func BenchmarkDecodeParquetDictionary(b *testing.B) {
	objs := dictionaryObjects(b)
	b.Run("read-once", func(b *testing.B) { benchDecodeObjects(b, objs, flowrecordtest.FileFormatParquet) })
	b.Run("per-row", func(b *testing.B) {
		old := maxPreparsedBytes
		maxPreparsedBytes = 0
		defer func() { maxPreparsedBytes = old }()
		benchDecodeObjects(b, objs, flowrecordtest.FileFormatParquet)
	})
}

// BenchmarkDecodeParquetInflated is BenchmarkDecodeParquet and
// BenchmarkDecodeParquetDictionary over the same records written with
// pages not compressed: the Parquet reading from the stage
// BenchmarkTextSameRecords starts at (the delivery's compression undone),
// so that the two compare decoding with decoding. AWS compresses every
// page with gzip and delivers no such objects.
func BenchmarkDecodeParquetInflated(b *testing.B) {
	for _, c := range []struct {
		name string
		v    parquetVariant
	}{
		{"dictionary", parquetVariant{dictionary: true, groupRows: 10_000, uncompressed: true}},
		{"plain", parquetVariant{groupRows: 10_000, uncompressed: true}},
	} {
		objs := variantObjects(b, c.v)
		b.Run(c.name, func(b *testing.B) { benchDecodeObjects(b, objs, flowrecordtest.FileFormatParquet) })
	}
}

// BenchmarkDecodeParquetInterning is BenchmarkDecodeParquet with the
// string pages read through the interner (interned: as a run reads
// them) and with each value checked in its row (per-row), in one process,
// over two sets of records: BenchmarkDecodeParquet's (repeating: a few
// hundred distinct addresses in a row group, as the other columns repeat
// too) and the same records with every source and destination address
// its own (distinct: the interner takes 1,024 of a row group's
// addresses, stops, and the rest of the chunk is read per row), what
// interning costs where it cannot help.
func BenchmarkDecodeParquetInterning(b *testing.B) {
	for _, set := range []struct {
		name string
		objs []flowrecordtest.S3Object
	}{
		{"repeating", variantObjects(b, parquetVariant{groupRows: 10_000})},
		{"distinct", distinctObjects(b)},
	} {
		b.Run(set.name+"/interned", func(b *testing.B) { benchDecodeObjects(b, set.objs, flowrecordtest.FileFormatParquet) })
		b.Run(set.name+"/per-row", func(b *testing.B) {
			old := maxInterned
			maxInterned = 0
			defer func() { maxInterned = old }()
			benchDecodeObjects(b, set.objs, flowrecordtest.FileFormatParquet)
		})
	}
}

// distinctObjects returns BenchmarkDecodeParquet's records, each with a
// source and a destination address no other record has, written as
// variantObjects writes them.
func distinctObjects(b *testing.B) []flowrecordtest.S3Object {
	n := 0
	return rewrittenObjects(b, parquetVariant{groupRows: 10_000}, func(toks []string) {
		n++
		toks[3] = fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)
		toks[4] = fmt.Sprintf("172.%d.%d.%d", 16+n>>16&15, n>>8&255, n&255)
	})
}

// dictionaryObjects returns BenchmarkDecodeParquet's objects written with
// every column dictionary-encoded.
func dictionaryObjects(b *testing.B) []flowrecordtest.S3Object {
	return variantObjects(b, parquetVariant{dictionary: true, groupRows: 10_000})
}

// variantObjects returns BenchmarkDecodeParquet's objects written as v
// says.
func variantObjects(b *testing.B, v parquetVariant) []flowrecordtest.S3Object {
	return rewrittenObjects(b, v, func([]string) {})
}

// rewrittenObjects returns BenchmarkDecodeParquet's objects written as v
// says, each record's values first given to rewrite.
func rewrittenObjects(b *testing.B, v parquetVariant, rewrite func(toks []string)) []flowrecordtest.S3Object {
	objs := benchObjects(b, 1<<16, 16, flowrecordtest.FileFormatPlainText)
	for i, o := range objs {
		zr, err := gzip.NewReader(bytes.NewReader(o.Body))
		if err != nil {
			b.Fatal(err)
		}
		text, err := io.ReadAll(zr)
		if err != nil {
			b.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")[1:] // after the header
		for k, l := range lines {
			toks := strings.Split(l, " ")
			rewrite(toks)
			lines[k] = strings.Join(toks, " ")
		}
		objs[i].Body = writeVariantParquet(b, flowrecord.DefaultFormat(), lines, v)
		objs[i].Key = strings.TrimSuffix(o.Key, ".log.gz") + ".log.parquet"
	}
	return objs
}

// BenchmarkDecodeText is BenchmarkDecodeParquet for the same records
// delivered as gzip text objects (fileFormat plain-text): the text path as
// its bytes arrive from S3.
func BenchmarkDecodeText(b *testing.B) { benchDecode(b, flowrecordtest.FileFormatPlainText) }

// BenchmarkMillionRecordsParquet summarizes 1,000,000 records delivered as
// Parquet objects over a one-hour window, as a run does (the S3 source,
// six slices, two read at a time) and reports the peak heap above what was
// in use before (the objects themselves), the objects fetched and the rate.
func BenchmarkMillionRecordsParquet(b *testing.B) {
	const records = 1_000_000
	objs := benchObjects(b, records, 200, flowrecordtest.FileFormatParquet)
	for range b.N {
		b.StopTimer()
		api := newMemS3(objs)
		src := newS3Source(api, S3Source{Bucket: "b", HiveCompatible: true, PerHour: true}, "123456789012", "us-east-1", flowrecord.Options{TopK: 10})
		h := startHeapPeak()
		b.StartTimer()
		started, cpu := time.Now(), cpuTime()
		ctx := context.Background()
		out, err := readSlices(ctx, ctx, src, benchWindow.sliceIter(DefaultSlice), DefaultReadConcurrency)
		if err != nil {
			b.Fatal(err)
		}
		d := buildDigest(buildInput{
			logGroup: "s3://b", generatedAt: benchWindow.To, window: Window{From: benchWindow.From, To: benchWindow.To},
			summary: out.agg.Summary(), tally: out.t, maxNew: DefaultMaxNewInterfaces, topK: 10,
		})
		body, err := d.encode(MaxDigestBytes)
		if err != nil {
			b.Fatal(err)
		}
		elapsed, cpu := time.Since(started), cpuTime()-cpu
		b.StopTimer()
		objects, held := h.end()
		if got := d.Totals.Records + d.Malformed.Count; got != records || out.t.BadObjects != 0 {
			b.Fatalf("%d records read, %d bad objects; want %d and none", got, out.t.BadObjects, records)
		}
		var size int
		for _, o := range objs {
			size += len(o.Body)
		}
		b.ReportMetric(objects, "peak-heap-MB")
		b.ReportMetric(held, "peak-held-MB")
		b.ReportMetric(float64(api.gets.Load()), "gets")
		b.ReportMetric(float64(len(objs)), "objects")
		b.ReportMetric(float64(size)/1e6, "object-MB")
		b.ReportMetric(records/elapsed.Seconds(), "records/s")
		b.ReportMetric(records/cpu.Seconds(), "records/cpu-s")
		b.ReportMetric(float64(len(body)), "digest-bytes")
	}
}

// BenchmarkTextSameRecords reads the records of BenchmarkDecodeParquet as
// lines already in memory (no gzip, no object), through the text parser
// and the same aggregator: the text path on the same records, the
// yardstick for the Parquet path's own cost. BenchmarkSummarizePages's
// records (a ring of few keys) aggregate about twice as fast as these.
func BenchmarkTextSameRecords(b *testing.B) {
	lines, _ := sameRecords()
	agg := flowrecord.NewAggregator(flowrecord.Options{TopK: 10})
	lr := newLineReader(nil, agg)
	p := flowrecord.NewParser(flowrecord.DefaultFormat()) // the generator's format
	// Warm the tables, as benchDecode does.
	for _, l := range lines {
		lr.addWith(p, l)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		lr.addWith(p, lines[i%len(lines)])
	}
	cpu = cpuTime() - cpu
	b.StopTimer()
	if agg.Summary().Malformed.Count != 0 {
		b.Fatalf("%d malformed records", agg.Summary().Malformed.Count)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
}

// sameRecords returns the records of BenchmarkDecodeParquet as text lines,
// with the name of each one's log stream.
func sameRecords() (lines, streams []string) {
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{
		Seed: 42, Records: 1 << 16, Interfaces: 16,
		StartTime: benchWindow.From.Add(-4 * time.Minute).Unix(), Span: int64((59 * time.Minute).Seconds()),
	})
	for g.Next() {
		lines = append(lines, g.Line())
		streams = append(streams, g.InterfaceID()+"-all")
	}
	return lines, streams
}

// cannedLogs answers FilterLogEvents over HTTP from response bodies encoded
// once, beforehand: the records of BenchmarkDecodeParquet cut into pages as
// the service cuts them, served round and round until total events are
// served. Each page has two encodings, with and without a nextToken.
type cannedLogs struct {
	more, last [][]byte
	events     []int // events of each page
	total      int
	served     int
	calls      int
}

func newCannedLogs(tb testing.TB, total int) *cannedLogs {
	tb.Helper()
	lines, streams := sameRecords()
	src := &pageSource{lines: lines, streams: streams, from: benchWindow.From.UnixMilli(), to: benchWindow.To.UnixMilli(), total: int64(len(lines)), shared: true}
	c := &cannedLogs{total: total}
	var token *string
	for {
		page, err := src.FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{
			StartTime: aws.Int64(src.from), EndTime: aws.Int64(src.to - 1), NextToken: token,
		})
		if err != nil {
			tb.Fatal(err)
		}
		for _, next := range []*string{aws.String("more"), nil} {
			body, err := io.ReadAll(&pageBody{events: page.Events, next: next})
			if err != nil {
				tb.Fatal(err)
			}
			if next != nil {
				c.more = append(c.more, body)
			} else {
				c.last = append(c.last, body)
			}
		}
		c.events = append(c.events, len(page.Events))
		if token = page.NextToken; token == nil {
			return c
		}
	}
}

func (c *cannedLogs) RoundTrip(req *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, req.Body)
	_ = req.Body.Close()
	k := c.calls % len(c.events)
	c.calls++
	c.served += c.events[k]
	body := c.more[k]
	if c.served >= c.total {
		body = c.last[k]
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Requestid": {"bench"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// BenchmarkTextDelivered times the log group path from the bytes the
// service sends: FilterLogEvents response bodies (JSON, encoded
// beforehand, so no encoding is timed) of BenchmarkDecodeParquet's records,
// through a real cloudwatchlogs.Client (its deserializer, middleware and
// retryer; an in-process HTTP client) and the function's reader, with the
// digest built at the end. b.N is the number of records, rounded up to
// whole pages.
func BenchmarkTextDelivered(b *testing.B) {
	canned := newCannedLogs(b, max(b.N, 1))
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://logs.local"),
		Credentials:  aws.AnonymousCredentials{},
		HTTPClient:   &http.Client{Transport: canned},
	})
	api := pacedLogs{LogsAPI: client, filterCalls: new(atomic.Int64)}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	d, _ := summarizePages(b, api, time.Hour, 1)
	cpu = cpuTime() - cpu
	b.StopTimer()
	n := float64(d.Totals.Records)
	if d.Malformed.Count != 0 || d.Totals.Records != uint64(canned.served) {
		b.Fatalf("%d records and %d malformed, want %d records", d.Totals.Records, d.Malformed.Count, canned.served)
	}
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(n/cpu.Seconds(), "records/cpu-s")
}
