package digest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Where the AWS IP ranges a process uses came from
// (FindingsBasis.AWSRangesSource).
const (
	// AWSRangesFetched: fetched from AWS_IP_RANGES_URL at cold start.
	AWSRangesFetched = "fetched"
	// AWSRangesEmbedded: the copy built into the binary (ip-ranges.json),
	// because the fetch is off or failed.
	AWSRangesEmbedded = "embedded"
)

// AWSRangesTimeout bounds the fetch at cold start, connection to last
// byte. The document is about 2 MB, a fraction of a second from a Lambda
// function with internet access; a function without egress (in a VPC
// without a NAT gateway) waits this long and then uses the built-in copy.
const AWSRangesTimeout = 2500 * time.Millisecond

// AWSRangesDoc is the ip-ranges.json document a process uses and where it
// came from. FetchError says why a fetch fell back to the built-in copy;
// nil when the fetch worked or was off.
type AWSRangesDoc struct {
	Ranges     *flowrecord.AWSRanges
	Source     string // AWSRangesFetched or AWSRangesEmbedded
	FetchError error
}

// shippedRanges parses the shipped ip-ranges.json once per process.
var shippedRanges = sync.OnceValues(func() (*flowrecord.AWSRanges, error) {
	return flowrecord.ParseAWSRanges(shippedAWSRanges)
})

// embeddedAWSRanges is the built-in copy. It is checked by a test
// (TestShippedAWSRanges), so failing here means a broken build; the
// digest then tells no address apart as AWS's, and says so in the log.
func embeddedAWSRanges(ctx context.Context) AWSRangesDoc {
	r, err := shippedRanges()
	if err != nil {
		slog.ErrorContext(ctx, "the built-in AWS IP ranges do not parse; AWS's addresses are not told apart", "error", err)
	}
	return AWSRangesDoc{Ranges: r, Source: AWSRangesEmbedded}
}

// LoadAWSRanges returns the AWS IP ranges for this process: the document
// at url, fetched once (a cold start) within AWSRangesTimeout and
// MaxAWSRangesBytes and checked against AWS's shape, or the built-in copy
// when url is "" (the setting is off) or the fetch fails for any reason,
// which is logged. client nil means a client with AWSRangesTimeout.
func LoadAWSRanges(ctx context.Context, client *http.Client, url string) AWSRangesDoc {
	if url == "" {
		doc := embeddedAWSRanges(ctx)
		slog.InfoContext(ctx, "fetching AWS IP ranges is off; using the built-in copy", "createDate", createDate(doc.Ranges))
		return doc
	}
	start := time.Now()
	r, size, err := fetchAWSRanges(ctx, client, url)
	if err != nil {
		doc := embeddedAWSRanges(ctx)
		doc.FetchError = err
		slog.WarnContext(ctx, "fetching AWS IP ranges failed; using the built-in copy (a function without internet egress cannot fetch: set "+settings.EnvAWSIPRangesURL+"=off)",
			"error", err, "createDate", createDate(doc.Ranges), "ms", time.Since(start).Milliseconds())
		return doc
	}
	slog.InfoContext(ctx, "AWS IP ranges fetched", "url", url, "createDate", r.CreateDate, "syncToken", r.SyncToken,
		"prefixes", r.Len(), "bytes", size, "ms", time.Since(start).Milliseconds())
	return AWSRangesDoc{Ranges: r, Source: AWSRangesFetched}
}

func createDate(r *flowrecord.AWSRanges) string {
	if r == nil {
		return ""
	}
	return r.CreateDate
}

// fetchAWSRanges gets and parses the document at url. A redirect must
// lead where the setting itself could point (https), and a body over
// MaxAWSRangesBytes is refused without being read past the cap.
func fetchAWSRanges(ctx context.Context, client *http.Client, url string) (*flowrecord.AWSRanges, int, error) {
	if client == nil {
		client = &http.Client{Timeout: AWSRangesTimeout}
	}
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		return settings.ValidateAWSIPRangesURL(req.URL.String())
	}
	ctx, cancel := context.WithTimeout(ctx, AWSRangesTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching %s: %w", url, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching AWS IP ranges: %w", err) // names the URL
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("fetching %s: HTTP status %s", url, resp.Status)
	}
	if resp.ContentLength > flowrecord.MaxAWSRangesBytes {
		return nil, 0, fmt.Errorf("fetching %s: %d bytes announced, more than %d", url, resp.ContentLength, flowrecord.MaxAWSRangesBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, flowrecord.MaxAWSRangesBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("fetching %s: reading the body: %w", url, err)
	}
	if len(body) > flowrecord.MaxAWSRangesBytes {
		return nil, 0, fmt.Errorf("fetching %s: more than %d bytes", url, flowrecord.MaxAWSRangesBytes)
	}
	r, err := flowrecord.ParseAWSRanges(body)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching %s: %w", url, err)
	}
	return r, len(body), nil
}

// awsRanges is the document the runs of this process use.
func (s *Summarizer) awsRanges(ctx context.Context) AWSRangesDoc {
	if s.cfg.AWSRanges != nil && s.cfg.AWSRanges.Ranges != nil {
		return *s.cfg.AWSRanges
	}
	return embeddedAWSRanges(ctx)
}
