package digest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// stream is one log stream of the flow log group.
type stream struct {
	Name    string
	Created time.Time
}

// listStreams lists every stream of the group named after an interface.
// DescribeLogStreams cannot filter by creation time, and a stream's
// lastEventTimestamp lags by up to an hour, so the whole group is listed
// and creationTime decides. Anyone allowed logs:CreateLogStream on the
// group can add streams of any name up to 512 characters: only names of
// the delivery service's form (streamInterface) are kept, at most 28
// bytes each, and the others are counted in a log line.
func listStreams(ctx context.Context, api LogsAPI, group string) ([]stream, error) {
	var out []stream
	ignored, example := 0, ""
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(api, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String(group),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the log streams of %s: %w", group, err)
		}
		for _, s := range page.LogStreams {
			name := aws.ToString(s.LogStreamName)
			if streamInterface(name) == "" {
				if ignored++; ignored == 1 {
					example = string(clean(name, maxTextField))
				}
				continue
			}
			out = append(out, stream{
				Name:    strings.Clone(name), // not pinning the page
				Created: time.UnixMilli(aws.ToInt64(s.CreationTime)).UTC(),
			})
		}
	}
	if ignored > 0 {
		slog.WarnContext(ctx, "ignored log streams not named after a network interface",
			"logGroup", group, "streams", ignored, "example", example)
	}
	return out, nil
}

// Interface ids are eni- and 8 or 17 lowercase hex digits.
const (
	eniPrefix   = "eni-"
	eniShortHex = 8
	eniLongHex  = 17
)

// streamInterface returns the interface id a flow log stream is named
// after, such as eni-0c19436730cc350ae for eni-0c19436730cc350ae-all, or
// "" for a stream of another name. The delivery service names a stream
// eni-<id>-<traffic type> (all, accept, reject); the id is only taken
// from a name of exactly that form (or the bare id), with an id of AWS's length, so that a
// stream someone else named cannot make up an id of any length or give
// one interface any number of streams.
func streamInterface(name string) string {
	if !strings.HasPrefix(name, eniPrefix) {
		return ""
	}
	hex := len(eniPrefix)
	for hex < len(name) && ('0' <= name[hex] && name[hex] <= '9' || 'a' <= name[hex] && name[hex] <= 'f') {
		hex++
	}
	if n := hex - len(eniPrefix); n != eniShortHex && n != eniLongHex {
		return ""
	}
	switch name[hex:] {
	case "", "-all", "-accept", "-reject":
		return name[:hex]
	}
	return ""
}

// streamTraffic returns the traffic type a flow log stream name ends with
// (ALL, ACCEPT or REJECT), or "".
func streamTraffic(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return ""
	}
	switch t := strings.ToUpper(name[i+1:]); t {
	case "ALL", "ACCEPT", "REJECT":
		return t
	}
	return ""
}

// newInterface is an interface whose first stream in the group was created
// inside the window.
type newInterface struct {
	ID      string
	Streams []string
	Created time.Time // of its earliest stream
}

// newInterfaces picks the interfaces whose earliest stream was created in
// w. An interface that already had a stream before (say -accept, now also
// -reject) is not new.
func newInterfaces(streams []stream, w window) []newInterface {
	byID := map[string]*newInterface{}
	old := map[string]bool{}
	for _, s := range streams {
		id := streamInterface(s.Name)
		if id == "" {
			continue
		}
		switch {
		case s.Created.Before(w.From):
			old[id] = true
		case s.Created.Before(w.To):
			n := byID[id]
			if n == nil {
				n = &newInterface{ID: id, Created: s.Created}
				byID[id] = n
			}
			n.Streams = append(n.Streams, s.Name)
			if s.Created.Before(n.Created) {
				n.Created = s.Created
			}
		}
	}
	out := make([]newInterface, 0, len(byID))
	for id, n := range byID {
		if old[id] {
			continue
		}
		slices.Sort(n.Streams)
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b newInterface) int { return strings.Compare(a.ID, b.ID) })
	return out
}
