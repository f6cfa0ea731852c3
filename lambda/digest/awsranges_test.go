package digest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestShippedAWSRanges checks the copy built into the binary against
// AWS's shape: make update-ip-ranges runs it on a freshly fetched copy and
// keeps the old one when it fails.
func TestShippedAWSRanges(t *testing.T) {
	r, err := flowrecord.ParseAWSRanges(shippedAWSRanges)
	if err != nil {
		t.Fatalf("lambda/digest/ip-ranges.json: %v", err)
	}
	if _, err := time.Parse("2006-01-02-15-04-05", r.CreateDate); err != nil || r.Len() == 0 {
		t.Fatalf("lambda/digest/ip-ranges.json: createDate %q, %d prefixes", r.CreateDate, r.Len())
	}
	t.Logf("built-in ip-ranges.json: createDate %s, syncToken %s, %d prefixes, %d bytes", r.CreateDate, r.SyncToken, r.Len(), len(shippedAWSRanges))
}

// newerRanges is the shipped copy with a later createDate and one more
// prefix, 198.51.100.0/24 as EC2 eu-west-1, which the shipped copy does
// not hold: a digest that names it as AWS's used the fetched document.
func newerRanges(t *testing.T) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(shippedAWSRanges, &doc); err != nil {
		t.Fatal(err)
	}
	doc["createDate"] = "2026-12-01-00-00-00"
	doc["prefixes"] = append(doc["prefixes"].([]any), map[string]any{"ip_prefix": "198.51.100.0/24", "region": "eu-west-1", "service": "EC2", "network_border_group": "eu-west-1"})
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// egressAggregator holds one record: 1 MB from an interface's private
// address to 198.51.100.9, a public address.
func egressAggregator(t *testing.T) *flowrecord.Aggregator {
	t.Helper()
	agg := flowrecord.NewAggregator(flowrecord.Options{})
	start := strconv.FormatInt(testWindow.From.Unix()+60, 10)
	agg.AddLine(flowrecord.NewParser(flowrecord.DefaultFormat()),
		"2 123456789012 "+testENI+" 10.0.0.5 198.51.100.9 49152 443 6 700 1000000 "+start+" "+start+" ACCEPT OK")
	return agg
}

// TestLoadAWSRanges serves ip-ranges.json in every way a fetch at cold
// start can go: each case either loads the served document or falls back
// to the built-in copy with the reason, and the digest's findings basis
// and text say which copy was used (and the lookup uses that copy).
func TestLoadAWSRanges(t *testing.T) {
	shipped, err := flowrecord.ParseAWSRanges(shippedAWSRanges)
	if err != nil {
		t.Fatal(err)
	}
	newer := newerRanges(t)
	serve := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }
	}
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc // nil: nothing listens (no egress)
		off     bool
		source  string // AWSRangesFetched or AWSRangesEmbedded
		date    string // the createDate the digest shows
		errHas  string // in FetchError; "" for none
	}{
		{name: "the shipped copy", handler: serve(shippedAWSRanges), source: AWSRangesFetched, date: shipped.CreateDate},
		{name: "a newer copy", handler: serve(newer), source: AWSRangesFetched, date: "2026-12-01-00-00-00"},
		{name: "off", off: true, source: AWSRangesEmbedded, date: shipped.CreateDate},
		{name: "404", handler: http.NotFound, source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: "404 Not Found"},
		{name: "malformed JSON", handler: serve([]byte(`{"syncToken":"1","createDate":`)), source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: "parsing AWS IP ranges: unexpected end of JSON"},
		{name: "an HTML error page", handler: serve([]byte("<html>captive portal</html>")), source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: "invalid character '<'"},
		{name: "bad CIDR", handler: serve([]byte(strings.Replace(string(shippedAWSRanges), "3.5.140.0/22", "3.5.140.0/99", 1))), source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: `prefix "3.5.140.0/99"`},
		{name: "no createDate", handler: serve([]byte(strings.Replace(string(shippedAWSRanges), `"createDate"`, `"created"`, 1))), source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: `createDate ""`},
		{name: "huge body, no length", handler: hugeBody(false), source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: "more than 16777216 bytes"},
		{name: "huge body, length announced", handler: hugeBody(true), source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: "announced, more than"},
		{name: "slow server", handler: slowServer(), source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: "Client.Timeout"},
		{name: "redirect to plain http", handler: http.RedirectHandler("http://ip-ranges.example.com/ip-ranges.json", http.StatusFound).ServeHTTP, source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: `scheme "http"`},
		{name: "nothing listens", source: AWSRangesEmbedded, date: shipped.CreateDate, errHas: "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := ""
			if !tt.off {
				srv := httptest.NewServer(tt.handler)
				url = srv.URL + "/ip-ranges.json"
				if tt.handler == nil {
					srv.Close()
				} else {
					t.Cleanup(srv.Close)
				}
			}
			// The slow server answers after 2 s: a client bound shorter than
			// AWSRangesTimeout keeps the test quick.
			doc := LoadAWSRanges(context.Background(), &http.Client{Timeout: 500 * time.Millisecond}, url)
			if doc.Source != tt.source || doc.Ranges == nil || doc.Ranges.CreateDate != tt.date {
				t.Fatalf("source %q, ranges %v; want %q of %s", doc.Source, doc.Ranges, tt.source, tt.date)
			}
			if (tt.errHas == "") != (doc.FetchError == nil) || (doc.FetchError != nil && !strings.Contains(doc.FetchError.Error(), tt.errHas)) {
				t.Fatalf("fetch error %v; want one saying %q", doc.FetchError, tt.errHas)
			}
			checkDigestSays(t, doc, tt.date)
		})
	}
}

// checkDigestSays runs the findings of a window with egress to
// 198.51.100.9 on a summarizer given doc, and checks the digest names the
// copy (createDate and source, in JSON and text) and looks up with it:
// only the newer copy holds 198.51.100.9.
func checkDigestSays(t *testing.T, doc AWSRangesDoc, date string) {
	t.Helper()
	s := &Summarizer{cfg: Config{AWSRanges: &doc, Findings: settings.DefaultFindings()}}
	fs, basis, _ := s.evaluateFindings(context.Background(), egressAggregator(t), testWindow,
		func() (*baseline, error) { return nil, errors.New("no baseline in this test") })
	if basis.AWSRanges != date || basis.AWSRangesSource != doc.Source {
		t.Errorf("findings basis says %q, %q; want %q, %q", basis.AWSRanges, basis.AWSRangesSource, date, doc.Source)
	}
	wantAWS := ""
	if date == "2026-12-01-00-00-00" {
		wantAWS = "EC2 eu-west-1"
	}
	if len(basis.TopEgress) != 1 || basis.TopEgress[0].AWS != wantAWS {
		t.Errorf("top egress %+v; want 198.51.100.9 with aws %q", basis.TopEgress, wantAWS)
	}
	d := Digest{Findings: fs, FindingsBasis: basis}
	d.normalize()
	var w textWriter
	d.textFindings(&w)
	wantText := "AWS address ranges: ip-ranges.json of " + date + awsRangesSourceText(doc.Source) + "."
	if !strings.Contains(w.b.String(), wantText) || awsRangesSourceText(doc.Source) == "" {
		t.Errorf("text:\n%s\nwant the line %q", w.b.String(), wantText)
	}
}

// hugeBody streams one byte more than the cap, announcing its length or
// not (chunked).
func hugeBody(announce bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		n := flowrecord.MaxAWSRangesBytes + 1
		if announce {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	}
}

// slowServer sends the headers, then waits 2 s before a body it never
// finishes.
func slowServer() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"syncToken":"1",`))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// TestLoadAWSRangesDefaultTimeout proves that without a client of its own
// the fetch gives up at AWSRangesTimeout (a deadline, not the server's
// 10 s) and falls back: what a function without egress gets.
func TestLoadAWSRangesDefaultTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	doc := LoadAWSRanges(context.Background(), nil, srv.URL)
	if doc.Source != AWSRangesEmbedded || doc.FetchError == nil || !strings.Contains(doc.FetchError.Error(), "deadline exceeded") {
		t.Fatalf("source %q, error %v; want the built-in copy after a deadline", doc.Source, doc.FetchError)
	}
}
