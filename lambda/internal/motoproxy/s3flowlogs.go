package motoproxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// EmulateS3FlowLogs makes flow logs to S3 behave through the proxy as they
// do in AWS, where moto 5.2.1 falls short in three ways:
//
//   - moto looks the destination bucket up in its own account by everything
//     after "arn:aws:s3:::", so a destination with a prefix
//     (arn:aws:s3:::bucket/prefix) is reported missing;
//   - a bucket of another account (a central bucket, the pattern of AWS's
//     multi-account guidance) is reported missing, since moto holds only
//     its own account's buckets;
//   - DestinationOptions are dropped: DescribeFlowLogs reports none.
//
// The proxy hands moto a stand-in bucket of moto's account for each
// distinct destination and options (created on first use, named
// motoproxy-<hash>), and DescribeFlowLogs answers carry the destination as
// it was given and its options again. The real bucket's existence and
// policy are not checked: delivery is AWS's side, which moto does not play.
// Reset drops the hook.
func (p *Proxy) EmulateS3FlowLogs() {
	e := &s3FlowLogs{p: p, dests: map[string]s3Destination{}}
	p.AddHook(e.hook)
}

type s3FlowLogs struct {
	p     *Proxy
	mu    sync.Mutex
	dests map[string]s3Destination // stand-in bucket ARN -> what was asked for
}

type s3Destination struct {
	destination              string
	format, hive, perHourOpt string
}

func (e *s3FlowLogs) hook(w http.ResponseWriter, r *http.Request, c Call) bool {
	switch {
	case c.Action == "CreateFlowLogs" && c.Form.Get("LogDestinationType") == "s3":
		e.create(w, r, c)
		return true
	case c.Action == "DescribeFlowLogs":
		e.describe(w, c)
		return true
	}
	return false
}

// create forwards the call with the stand-in bucket as its destination.
func (e *s3FlowLogs) create(w http.ResponseWriter, r *http.Request, c Call) {
	d := s3Destination{
		destination: c.Form.Get("LogDestination"),
		format:      c.Form.Get("DestinationOptions.FileFormat"),
		hive:        c.Form.Get("DestinationOptions.HiveCompatiblePartitions"),
		perHourOpt:  c.Form.Get("DestinationOptions.PerHourPartition"),
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{d.destination, d.format, d.hive, d.perHourOpt}, "\x00")))
	bucket := "motoproxy-" + hex.EncodeToString(sum[:12])
	if err := e.createBucket(r, bucket); err != nil {
		WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	standIn := "arn:aws:s3:::" + bucket
	e.mu.Lock()
	e.dests[standIn] = d
	e.mu.Unlock()
	form := cloneValues(c.Form)
	form.Set("LogDestination", standIn)
	for _, k := range []string{"FileFormat", "HiveCompatiblePartitions", "PerHourPartition"} {
		form.Del("DestinationOptions." + k)
	}
	body := []byte(form.Encode())
	c.Form = form
	e.p.forward(w, r, c, body)
}

// createBucket creates a bucket in moto, straight, not through the hooks.
func (e *s3FlowLogs) createBucket(r *http.Request, bucket string) error {
	u := *e.p.target
	u.Path = "/" + url.PathEscape(bucket)
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPut, u.String(), nil)
	if err != nil {
		return fmt.Errorf("motoproxy: creating stand-in bucket %s: %w", bucket, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("motoproxy: creating stand-in bucket %s: %w", bucket, err)
	}
	resp.Body.Close()
	// 409 BucketAlreadyOwnedByYou: made for an earlier call.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
		return fmt.Errorf("motoproxy: creating stand-in bucket %s: moto answered %s", bucket, resp.Status)
	}
	return nil
}

// describe forwards the call and puts each stand-in back as the
// destination that was asked for, with its options.
func (e *s3FlowLogs) describe(w http.ResponseWriter, c Call) {
	rec := httptest.NewRecorder()
	c.forward(rec)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		e.mu.Lock()
		for standIn, d := range e.dests {
			var opts bytes.Buffer
			opts.WriteString("<logDestination>")
			xmlEscape(&opts, d.destination)
			opts.WriteString("</logDestination><destinationOptions>")
			for _, el := range [][2]string{{"fileFormat", d.format}, {"hiveCompatiblePartitions", d.hive}, {"perHourPartition", d.perHourOpt}} {
				if el[1] != "" {
					fmt.Fprintf(&opts, "<%s>", el[0])
					xmlEscape(&opts, el[1])
					fmt.Fprintf(&opts, "</%s>", el[0])
				}
			}
			opts.WriteString("</destinationOptions>")
			body = bytes.ReplaceAll(body, []byte("<logDestination>"+standIn+"</logDestination>"), opts.Bytes())
		}
		e.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}
