package digest

import (
	"context"
	"fmt"
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

// listStreams lists every stream of the group. DescribeLogStreams cannot
// filter by creation time, and a stream's lastEventTimestamp lags by up to
// an hour, so the whole group is listed and creationTime decides.
func listStreams(ctx context.Context, api LogsAPI, group string) ([]stream, error) {
	var out []stream
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(api, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String(group),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the log streams of %s: %w", group, err)
		}
		for _, s := range page.LogStreams {
			out = append(out, stream{
				Name:    aws.ToString(s.LogStreamName),
				Created: time.UnixMilli(aws.ToInt64(s.CreationTime)).UTC(),
			})
		}
	}
	return out, nil
}

// streamInterface returns the interface id a flow log stream is named
// after (^eni-[0-9a-f]+), such as eni-0c19436730cc350ae for
// eni-0c19436730cc350ae-all, or "" for a stream of another name.
func streamInterface(name string) string {
	const prefix = "eni-"
	if !strings.HasPrefix(name, prefix) {
		return ""
	}
	i := len(prefix)
	for i < len(name) && ('0' <= name[i] && name[i] <= '9' || 'a' <= name[i] && name[i] <= 'f') {
		i++
	}
	if i == len(prefix) {
		return ""
	}
	return name[:i]
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
