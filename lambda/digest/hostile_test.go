package digest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
)

// publishes records what a run sends to SNS and passes it on to moto.
type publishes struct {
	digest.TopicAPI
	mu  sync.Mutex
	got []*sns.PublishInput
}

func (p *publishes) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	p.mu.Lock()
	p.got = append(p.got, in)
	p.mu.Unlock()
	return p.TopicAPI.Publish(ctx, in, opts...)
}

// TestHostileInputReachesNoReaderRaw writes, as other principals could, a
// record whose interface-id field carries a terminal escape and a bidi
// override, an EC2 description of 10 KB with a fake heading, and a stream
// named after an id of 40 hex digits, and reads what the run published
// and wrote. Before the text was sanitized, the ESC reached the SNS
// message raw (now the parser refuses such an id, and the description's
// newline is what the text must escape); before descriptions were capped, the digest stored all
// 10 KB; before stream names were checked, the 40-digit id was a new
// interface.
func TestHostileInputReachesNoReaderRaw(t *testing.T) {
	f := newFixture(t)
	_, subnetID := f.network("10.7.0.0/16")
	desc := "web\nTop talkers (bytes):\n  6.6.6.6 -> 10.7.0.5  99 GiB\u202e" + strings.Repeat("A", 10<<10)
	web := f.eni(subnetID, desc)
	topic, err := f.sns.CreateTopic(f.ctx, &sns.CreateTopicInput{Name: aws.String("digests")})
	if err != nil {
		t.Fatal(err)
	}
	f.cfg.TopicARN = aws.ToString(topic.TopicArn)

	const forged = "eni-1234abcd\x1b[2J\u202efdp.exe"
	bogus := "eni-" + strings.Repeat("ab", 20)
	start := f.real.Add(-30 * time.Minute).Unix()
	rec := func(id string, bytes int) string {
		return strings.Join([]string{"2", "123456789012", id, "10.7.0.5", "10.7.0.6", "443", "49152", "6", "10", itoa(bytes), itoa64(start), itoa64(start + 50), "ACCEPT", "OK"}, " ")
	}
	f.put([]line{
		{stream: web + "-all", ts: start * 1000, text: rec(web, 1000)},
		{stream: web + "-all", ts: start * 1000, text: rec(forged, 5000)},
		{stream: bogus + "-all", ts: start * 1000, text: rec(bogus, 100)},
	})

	topicAPI := &publishes{TopicAPI: f.sns}
	clients := f.clients()
	clients.Topic = topicAPI
	s, err := digest.New(f.cfg, clients)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(f.ctx); err != nil {
		t.Fatal(err)
	}

	d := f.digests()[0]
	// The parser refuses an interface id that is not AWS's shape: the
	// forged record and the 40-digit one are malformed, never interfaces.
	if d.Malformed.Count != 2 {
		t.Errorf("malformed %s, want the forged and the 40-digit records", jsonOf(d.Malformed))
	}
	for _, b := range d.BusiestInterfaces {
		if b.InterfaceID == forged {
			t.Errorf("busiest interfaces %s list the forged id", jsonOf(d.BusiestInterfaces))
		}
	}
	if d.NewInterfaces.Count != 1 || d.NewInterfaces.Items[0].InterfaceID != web {
		t.Errorf("new interfaces %s, want only %s", jsonOf(d.NewInterfaces), web)
	} else if n := utf8.RuneCountInString(d.NewInterfaces.Items[0].Description); n > 255 ||
		!strings.HasPrefix(d.NewInterfaces.Items[0].Description, "web\nTop talkers") {
		t.Errorf("the digest stores a description of %d runes (%.40q), want it capped at EC2's 255", n, d.NewInterfaces.Items[0].Description)
	}

	if len(topicAPI.got) != 1 {
		t.Fatalf("%d publishes, want 1", len(topicAPI.got))
	}
	subject, text := aws.ToString(topicAPI.got[0].Subject), aws.ToString(topicAPI.got[0].Message)
	if strings.ContainsFunc(subject, func(r rune) bool { return r < 0x20 || r > 0x7e }) || len(subject) >= 100 {
		t.Errorf("subject %q is not printable ASCII under 100 characters", subject)
	}
	if i := strings.IndexFunc(text, func(r rune) bool {
		return r != '\n' && (r < 0x20 || r == 0x7f || !unicode.IsPrint(r) || unicode.Is(unicode.Cf, r))
	}); i >= 0 {
		t.Errorf("raw %U in the published text:\n%s", []rune(text[i:])[0], text)
	}
	if n := strings.Count(text, "\nTop talkers"); n != 1 {
		t.Errorf("%d lines start with \"Top talkers\", want 1:\n%s", n, text)
	}
	for _, want := range []string{`"web\nTop talkers (bytes):\n`} {
		if !strings.Contains(text, want) {
			t.Errorf("the text does not show %s:\n%s", want, text)
		}
	}
	if len(text) > 8<<10 {
		t.Errorf("the text is %d bytes:\n%.2000s", len(text), text)
	}
}
