package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpcflowlogs/flowlogs/lambda/athenaquery"
	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
)

// athenaAnswer is what the athenademo command prints (its Answer).
type athenaAnswer struct {
	Query   string     `json:"query"`
	SQL     string     `json:"sql"`
	Params  []string   `json:"params"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// showTopTalkersAnswer is step 6: the stack's named query TopTalkers,
// answered over the bucket's objects. Athena does not run locally, so the
// objects are copied from moto's S3 to dir and the query's DuckDB
// rendering runs there, in the athenademo command (only the S3 demo builds
// DuckDB); its rows are shown next to the digest's top talkers.
func showTopTalkersAnswer(ctx context.Context, p *printer, h *e2e.Harness, root, dir string, d digest.Digest, bucket string, layout flowrecordtest.S3Layout) error {
	p.Step(8, "The same question asked of Athena's table: the named query TopTalkers")
	stackSQL, err := namedQuerySQL(h.Stack.Template, "TopTalkers")
	if err != nil {
		return err
	}
	n, size, err := copyBucket(ctx, h.S3Client(), bucket, dir)
	if err != nil {
		return err
	}
	p.Info("Athena does not run locally: the %d objects (%d bytes) are copied from moto's S3 to %s and the stack's own", n, size, rel(root, dir))
	p.Info("named query (its QueryString in the template) runs there in DuckDB, over the table's DuckDB rendering (lambda/athenaquery; in AWS, Athena runs the same SQL):")
	from, to := partitionRange(d.Window, layout.PerHour)
	args := []string{"run", "./lambda/internal/e2e/demo/athenademo", "-dir", dir, "-prefix", layout.Prefix,
		"-file-format", layout.FileFormat, "-hive=" + strconv.FormatBool(layout.HiveCompatible),
		"-per-hour=" + strconv.FormatBool(layout.PerHour), "-from", from, "-to", to}
	started := time.Now()
	a, err := runAthenaDemo(ctx, root, args)
	if err != nil {
		return err
	}
	if a.SQL != stackSQL {
		return fmt.Errorf("athenademo ran\n%s\nbut the stack's TopTalkers is\n%s", a.SQL, stackSQL)
	}
	p.Info("")
	for _, line := range strings.Split(a.SQL, "\n") {
		p.Info("  %s", line)
	}
	p.Info("")
	p.Info("with from = '%s', to = '%s' (the hour folders holding the window's objects; here nothing else is in them): %d rows in %.1fs (go run, DuckDB included)",
		from, to, len(a.Rows), time.Since(started).Seconds())
	return compareTalkers(p, a, d)
}

// namedQuerySQL is the QueryString of the template's named query name.
func namedQuerySQL(t *e2e.Template, name string) (string, error) {
	for _, r := range t.OfType("AWS::Athena::NamedQuery") {
		if r.Properties["Name"] == name {
			if q, ok := r.Properties["QueryString"].(string); ok {
				return q, nil
			}
			return "", fmt.Errorf("the template's named query %s has no literal QueryString", name)
		}
	}
	return "", fmt.Errorf("the template has no named query %s", name)
}

// partitionRange is the named queries' [from, to) of partition keys that
// holds every object delivered in w: a file delivered on the hour may sit
// in the folder of the hour before (digest's s3source.go), so the range
// starts one publish period before the window.
func partitionRange(w digest.Window, perHour bool) (from, to string) {
	step := 24 * time.Hour
	if perHour {
		step = time.Hour
	}
	last := w.To.Add(-time.Nanosecond).UTC().Truncate(step)
	return athenaquery.PartitionKey(w.From.Add(-5*time.Minute), perHour), athenaquery.PartitionKey(last.Add(step), perHour)
}

// runAthenaDemo runs the athenademo command with go run from the module
// root and decodes its answer.
func runAthenaDemo(ctx context.Context, root string, args []string) (athenaAnswer, error) {
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return athenaAnswer{}, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var a athenaAnswer
	if err := json.Unmarshal(stdout.Bytes(), &a); err != nil {
		return athenaAnswer{}, fmt.Errorf("decoding athenademo's answer: %w", err)
	}
	if len(a.Columns) < 3 || a.Columns[0] != "srcaddr" || a.Columns[1] != "dstaddr" || a.Columns[2] != "bytes" {
		return athenaAnswer{}, fmt.Errorf("athenademo answered columns %v, want srcaddr, dstaddr, bytes first", a.Columns)
	}
	return a, nil
}

// goTool is the go command: the one the demo was run with when `make
// demo` names it, else the one on PATH.
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// compareTalkers prints the query's rows next to the digest's top
// talkers, rank by rank, and fails when a digest talker's bytes are not
// the query's for the same pair.
func compareTalkers(p *printer, a athenaAnswer, d digest.Digest) error {
	byPair := map[string]string{}
	for _, r := range a.Rows {
		byPair[r[0]+" "+r[1]] = r[2]
	}
	p.Info("  %-4s %-40s %10s   %-40s %10s", "rank", "TopTalkers (DuckDB here, Athena in AWS)", "bytes", "the digest's top talkers", "bytes")
	var diffs []string
	for i := range min(max(len(a.Rows), len(d.TopTalkers)), 10) {
		q, t := "", ""
		var qb, tb string
		if i < len(a.Rows) {
			q, qb = a.Rows[i][0]+" > "+a.Rows[i][1], a.Rows[i][2]
		}
		if i < len(d.TopTalkers) {
			tt := d.TopTalkers[i]
			t, tb = tt.Src.String()+" > "+tt.Dst.String(), strconv.FormatUint(tt.Bytes, 10)
			if got := byPair[tt.Src.String()+" "+tt.Dst.String()]; got != tb {
				diffs = append(diffs, fmt.Sprintf("%s: the query says %q bytes, the digest %s", t, got, tb))
			}
		}
		p.Info("  %-4d %-40s %10s   %-40s %10s", i+1, q, qb, t, tb)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the query's answer differs from the digest's top talkers:\n  %s", strings.Join(diffs, "\n  "))
	}
	p.Info("each of the digest's %d top talkers has the same bytes in the query's answer", len(d.TopTalkers))
	return nil
}

// copyBucket copies every object of bucket to dir at its key, refusing a
// key that would land outside dir.
func copyBucket(ctx context.Context, c *s3.Client, bucket, dir string) (n int, size int64, err error) {
	if err := os.RemoveAll(dir); err != nil {
		return 0, 0, err
	}
	pg := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return n, size, fmt.Errorf("listing s3://%s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			w, err := copyObject(ctx, c, bucket, aws.ToString(o.Key), dir)
			if err != nil {
				return n, size, err
			}
			n, size = n+1, size+w
		}
	}
	return n, size, nil
}

func copyObject(ctx context.Context, c *s3.Client, bucket, key, dir string) (int64, error) {
	path := filepath.Join(dir, filepath.FromSlash(key))
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		return 0, fmt.Errorf("copying s3://%s/%s: the key is not a local path", bucket, key)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return 0, fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w, err := io.Copy(f, out.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("copying s3://%s/%s to %s: %w", bucket, key, path, err)
	}
	return w, nil
}
