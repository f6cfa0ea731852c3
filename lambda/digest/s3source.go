package digest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// S3API is the part of S3 a run calls in S3 mode: listing the hour (or
// day) folders of the window and reading the objects.
type S3API interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Source says where the flow logs deliver in S3 and how (their
// DestinationOptions); Config.S3 set to one makes a run read the objects
// instead of the log group.
type S3Source struct {
	Bucket         string
	Prefix         string // the destination's key prefix, without slashes at the ends; may be empty
	HiveCompatible bool
	PerHour        bool
	// Partitions are the accounts and regions whose folders a run reads;
	// empty: the Config's Account and Region.
	Partitions []Partition
	// MaxObjectBytes bounds an object; a larger one is reported by key and
	// not read. 0: DefaultMaxObjectBytes.
	MaxObjectBytes int64
}

// Partition is one account and region of a bucket's AWSLogs folders.
type Partition struct{ Account, Region string }

const (
	// DefaultMaxObjectBytes bounds one object. AWS closes a flow log file
	// at 75 MB (docs: tgw flow-logs-s3); twice that leaves room.
	DefaultMaxObjectBytes = 150 << 20
	// spoolBytes is the largest object held in memory; a larger one is
	// written to a temporary file (Lambda's /tmp) and read from there, so
	// the heap holds one decoded page a column, whatever the object's size.
	spoolBytes = 8 << 20
	// objectAttempts is how many times an object is fetched before the
	// slice fails: the body is read whole before any record counts, so a
	// read cut short is fetched again without counting anything twice.
	objectAttempts = 4
	// maxBadObjectSamples is how many unreadable objects a digest names.
	maxBadObjectSamples = 10
	// publishPeriod is how often a flow log publishes a file to S3: a file
	// named T holds the records of (T-5 min, T].
	publishPeriod = 5 * time.Minute
)

// s3Source reads the objects delivered in a slice of the window. The unit
// of exactly-once is the object: an object belongs to the one slice (and
// window) that holds the delivery time in its file name, whatever times
// its records carry, and windows are consecutive and half-open, so each
// key is read by one finished slice of one run. A slice counts only when
// every object of it was read (a failed read fails the slice, which a
// later run reads again), and an object is fetched whole before its first
// record counts.
type s3Source struct {
	api  S3API
	cfg  S3Source
	opts flowrecord.Options
}

func newS3Source(api S3API, cfg S3Source, account, region string, opts flowrecord.Options) *s3Source {
	if len(cfg.Partitions) == 0 {
		cfg.Partitions = []Partition{{Account: account, Region: region}}
	}
	if cfg.MaxObjectBytes <= 0 {
		cfg.MaxObjectBytes = DefaultMaxObjectBytes
	}
	return &s3Source{api: api, cfg: cfg, opts: opts}
}

func (s *s3Source) readSlice(ctx context.Context, w window) sliceResult {
	agg := flowrecord.NewAggregator(s.opts)
	d := newObjectDecoder(newLineReader(nil, agg))
	defer d.close()
	for _, p := range s.cfg.Partitions {
		for _, folder := range s.folders(p, w) {
			if err := s.readFolder(ctx, d, p, folder, w); err != nil {
				return sliceResult{err: err}
			}
		}
	}
	return sliceResult{agg: agg, t: d.lr.t}
}

// folder is one hour's (or day's) folder of a partition.
type folder struct {
	prefix   string
	from, to time.Time // the delivery times its keys may carry
}

// folders returns the folders that may hold objects delivered in w. A
// file delivered at the full hour may sit in the folder of the hour
// before, so the listing starts one publish period early; keys are then
// kept by the time in their names.
func (s *s3Source) folders(p Partition, w window) []folder {
	step := 24 * time.Hour
	if s.cfg.PerHour {
		step = time.Hour
	}
	var out []folder
	for t := w.From.Add(-publishPeriod).UTC().Truncate(step); t.Before(w.To); t = t.Add(step) {
		out = append(out, folder{prefix: s.partitionPrefix(p, t), from: t, to: t.Add(step + publishPeriod)})
	}
	return out
}

// partitionPrefix is AWS's folder for the files delivered at t
// (docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html).
func (s *s3Source) partitionPrefix(p Partition, t time.Time) string {
	var b strings.Builder
	if s.cfg.Prefix != "" {
		b.WriteString(s.cfg.Prefix + "/")
	}
	b.WriteString("AWSLogs/")
	part := func(hive, v string) {
		if s.cfg.HiveCompatible {
			b.WriteString(hive + "=")
		}
		b.WriteString(v + "/")
	}
	part("aws-account-id", p.Account)
	part("aws-service", "vpcflowlogs")
	part("aws-region", p.Region)
	part("year", t.Format("2006"))
	part("month", t.Format("01"))
	part("day", t.Format("02"))
	if s.cfg.PerHour {
		part("hour", t.Format("15"))
	}
	return b.String()
}

// readFolder lists one folder a page at a time and reads the objects
// delivered in w. A key off the layout is reported once, by the slice
// holding its upload time (LastModified, which S3 sets), and not read.
func (s *s3Source) readFolder(ctx context.Context, d *objectDecoder, p Partition, f folder, w window) error {
	pg := s3.NewListObjectsV2Paginator(s.api, &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(f.prefix)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing s3://%s/%s: %w", s.cfg.Bucket, f.prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			obj, err := parseObjectKey(key, f, p)
			if err != nil {
				if lm := aws.ToTime(o.LastModified); !lm.Before(w.From) && lm.Before(w.To) {
					d.bad(key, err)
				}
				continue
			}
			if obj.delivered.Before(w.From) || !obj.delivered.Before(w.To) {
				continue
			}
			if size := aws.ToInt64(o.Size); size > s.cfg.MaxObjectBytes {
				d.bad(key, fmt.Errorf("%d bytes, more than the %d allowed", size, s.cfg.MaxObjectBytes))
				continue
			}
			if err := s.readObject(ctx, d, key, obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// objectKey is what a valid key tells.
type objectKey struct {
	delivered time.Time
	parquet   bool
}

// objectName is AWS's file name: <account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz,
// or .log.parquet for Parquet files.
var objectName = regexp.MustCompile(`^([0-9]{12})_vpcflowlogs_([a-z0-9-]{1,32})_fl-[0-9a-f]{8,17}_([0-9]{8}T[0-9]{4}Z)_[0-9a-zA-Z]{1,64}\.log\.(gz|parquet)$`)

// parseObjectKey checks a listed key against the layout: under f's
// folder, a file name of AWS's form for p's account and region, delivered
// at a time the folder may hold.
func parseObjectKey(key string, f folder, p Partition) (objectKey, error) {
	name, ok := strings.CutPrefix(key, f.prefix)
	if !ok || len(key) > 1024 {
		return objectKey{}, errors.New("not under the folder listed")
	}
	m := objectName.FindStringSubmatch(name)
	if m == nil {
		return objectKey{}, errors.New("not a flow log file name of AWS's form")
	}
	if m[1] != p.Account || m[2] != p.Region {
		return objectKey{}, fmt.Errorf("names account %s and region %s in the folder of %s and %s", m[1], m[2], p.Account, p.Region)
	}
	t, err := time.Parse("20060102T1504Z", m[3])
	if err != nil {
		return objectKey{}, fmt.Errorf("delivery time %s: %w", m[3], err)
	}
	if t.Before(f.from) || !t.Before(f.to) {
		return objectKey{}, fmt.Errorf("delivered at %s, outside its folder", t.Format(time.RFC3339))
	}
	return objectKey{delivered: t, parquet: m[4] == "parquet"}, nil
}

// readObject fetches an object whole, then decodes it. A fetch that fails
// is tried again (objectAttempts in all, each with the SDK's own retries)
// before the slice fails; an object that does not decode is reported and
// the slice goes on.
func (s *s3Source) readObject(ctx context.Context, d *objectDecoder, key string, obj objectKey) error {
	var (
		body objectBody
		err  error
	)
	for range objectAttempts {
		body, err = s.fetch(ctx, d, key)
		if err == nil || ctx.Err() != nil || errors.Is(err, errTooLarge) {
			break
		}
	}
	if errors.Is(err, errTooLarge) {
		d.bad(key, err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading s3://%s/%s: %w", s.cfg.Bucket, key, err)
	}
	defer body.close()
	d.lr.t.Objects++
	if obj.parquet {
		err = d.decodeParquet(body.r, body.size)
	} else {
		err = d.decodeText(body.r, body.size)
	}
	if err != nil {
		d.bad(key, err)
	}
	return nil
}

var errTooLarge = errors.New("object too large")

// objectBody is a fetched object: in the decoder's buffer, or spooled to a
// temporary file.
type objectBody struct {
	r    io.ReaderAt
	size int64
	file *os.File
}

func (b objectBody) close() {
	if b.file != nil {
		name := b.file.Name()
		_ = b.file.Close()
		_ = os.Remove(name)
	}
}

// fetch reads an object whole, at most MaxObjectBytes of it.
func (s *s3Source) fetch(ctx context.Context, d *objectDecoder, key string) (objectBody, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return objectBody{}, err
	}
	defer out.Body.Close()
	limit := s.cfg.MaxObjectBytes
	if n := aws.ToInt64(out.ContentLength); n > limit {
		return objectBody{}, fmt.Errorf("%w: %d bytes, more than the %d allowed", errTooLarge, n, limit)
	}
	r := io.LimitReader(out.Body, limit+1)
	if aws.ToInt64(out.ContentLength) > spoolBytes {
		return spool(r, limit)
	}
	d.body.Reset()
	if _, err := d.body.ReadFrom(r); err != nil {
		return objectBody{}, err
	}
	if int64(d.body.Len()) > limit {
		return objectBody{}, fmt.Errorf("%w: more than %d bytes", errTooLarge, limit)
	}
	return objectBody{r: bytesReaderAt(d.body.Bytes()), size: int64(d.body.Len())}, nil
}

// spool writes a large object to a temporary file.
func spool(r io.Reader, limit int64) (objectBody, error) {
	f, err := os.CreateTemp("", "flowlog-object-*")
	if err != nil {
		return objectBody{}, fmt.Errorf("spooling an object: %w", err)
	}
	n, err := io.Copy(f, r)
	b := objectBody{r: f, size: n, file: f}
	switch {
	case err != nil:
		b.close()
		return objectBody{}, err
	case n > limit:
		b.close()
		return objectBody{}, fmt.Errorf("%w: more than %d bytes", errTooLarge, limit)
	}
	return b, nil
}

// bytesReaderAt is a []byte as an io.ReaderAt, without bytes.Reader's
// allocation per object.
type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
