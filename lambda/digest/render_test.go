package digest

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleDigest is the example digest of testdata/digest.json (also the
// example in DIGEST.md): a partial window with lost records, malformed
// lines and three new interfaces, one of them gone.
func sampleDigest(t *testing.T) Digest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "digest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d Digest
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update rewrites it):\n--- got\n%s\n--- want\n%s", path, t.Name(), got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	d := sampleDigest(t)
	golden(t, "digest.txt", []byte(d.Subject()+"\n\n"+d.Text()))
}

// TestSampleDigestRoundTrips keeps the documented example in the shape the
// code writes: a renamed or added field shows up here.
func TestSampleDigestRoundTrips(t *testing.T) {
	d := sampleDigest(t)
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "digest.json", append(b, '\n'))
}

func TestSubjectFitsSNS(t *testing.T) {
	d := sampleDigest(t)
	for _, partial := range []bool{false, true} {
		d.Window.Partial = partial
		s := d.Subject()
		if len(s) >= 100 || strings.ContainsFunc(s, func(r rune) bool { return r < 32 || r > 126 }) {
			t.Errorf("subject %q is not printable ASCII under 100 characters", s)
		}
	}
}

// TestSubjectSaysFindingsFirst: a mail client shows the subject and
// little more, so it counts the findings before anything else.
func TestSubjectSaysFindingsFirst(t *testing.T) {
	tests := []struct {
		name     string
		findings int
		lost     uint64
		partial  bool
		want     string
	}{
		{"nothing", 0, 0, false, "Flow log digest 2026-11-25 18:45-19:15 UTC"},
		{"partial", 0, 0, true, "Flow log digest 2026-11-25 18:45-19:15 UTC (partial)"},
		{"one finding", 1, 0, false, "Flow log digest 2026-11-25 18:45-19:15 UTC: 1 finding"},
		{"findings and loss", 3, 10, true, "Flow log digest 2026-11-25 18:45-19:15 UTC: 3 findings, records lost"},
		{"loss only", 0, 10, false, "Flow log digest 2026-11-25 18:45-19:15 UTC: records lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := sampleDigest(t)
			d.Findings = make([]Finding, tt.findings)
			d.SkipData.Records = tt.lost
			d.Window.Partial = tt.partial
			if got := d.Subject(); got != tt.want {
				t.Errorf("Subject() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEncodeKeepsDigestUnderTheEventLimit(t *testing.T) {
	d := sampleDigest(t)
	// Inflate every list far past what a digest may hold.
	item := d.NewInterfaces.Items[0]
	item.Description = strings.Repeat("x", 255)
	for range 2000 {
		d.NewInterfaces.Items = append(d.NewInterfaces.Items, item)
		d.TopTalkers = append(d.TopTalkers, d.TopTalkers[0])
		d.Malformed.Samples = append(d.Malformed.Samples, flowrecord.MalformedSample{Line: strings.Repeat("y", 256), Error: "wrong number of fields"})
	}
	count := d.NewInterfaces.Count
	b, err := d.encode(MaxDigestBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxDigestBytes || !d.Truncated {
		t.Errorf("encoded %d bytes (limit %d), truncated=%v", len(b), MaxDigestBytes, d.Truncated)
	}
	var back Digest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.NewInterfaces.Count != count || len(back.NewInterfaces.Items) == 0 || !back.Truncated {
		t.Errorf("after cutting: %d new interfaces counted, %d listed, truncated=%v; want the count kept", back.NewInterfaces.Count, len(back.NewInterfaces.Items), back.Truncated)
	}
}

// hostileStrings are what another principal can put in a record field, a
// stream, an EC2 description or an error message, and what each must look
// like once rendered (escaped, not dropped).
var hostileStrings = []struct {
	name, s, shows string
}{
	{"fake heading", "eni-1\nTop talkers (bytes):\n  6.6.6.6 -> 10.0.0.1  99 GiB\nWarnings:", `eni-1\nTop talkers (bytes):\n`},
	{"carriage return", "eni-1\rRecords: 0", `eni-1\rRecords: 0`},
	{"ANSI clear screen", "eni-1\x1b[2J\x1b[1;31mALERT", `eni-1\x1b[2J\x1b[1;31mALERT`},
	{"bidi override", "eni-1\u202efdp.exe", `eni-1\u202efdp.exe`},
	{"bidi isolate", "\u2066eni-1\u2069", `\u2066eni-1\u2069`},
	{"NUL", "eni-1\x00", `eni-1\x00`},
	{"DEL and C1", "eni-1\x7f\u0085\u009b2J", `eni-1\x7f\u0085\u009b2J`},
	{"line separators", "eni-1\u2028Top talkers\u2029", `eni-1\u2028Top talkers\u2029`},
	{"zero width", "eni\u200b-1\ufeff", `eni\u200b-1\ufeff`},
	{"invalid UTF-8", "eni-1\xff\xfe\xc3", `eni-1\xff\xfe\xc3`},
	{"backslash forging an escape", `eni-1\n`, `eni-1\\n`},
	{"10 KB", strings.Repeat("A", 10<<10), "AAAA"},
	{"10 KB of escapes", strings.Repeat("\n", 10<<10), `\n\n\n`},
}

// hostileFields puts s into each string of a digest that another principal
// can write, one field at a time.
var hostileFields = []struct {
	name string
	set  func(d *Digest, s string)
}{
	{"skipdata interface id", func(d *Digest, s string) { d.SkipData.Windows[0].InterfaceID = s }},
	{"busiest interface id", func(d *Digest, s string) { d.BusiestInterfaces[0].InterfaceID = s }},
	{"new interface id", func(d *Digest, s string) { d.NewInterfaces.Items[0].InterfaceID = s }},
	{"description", func(d *Digest, s string) { d.NewInterfaces.Items[0].Description = s }},
	{"type", func(d *Digest, s string) { d.NewInterfaces.Items[0].Type = s }},
	{"instance id", func(d *Digest, s string) { d.NewInterfaces.Items[0].InstanceID = s }},
	{"requester id", func(d *Digest, s string) { d.NewInterfaces.Items[1].RequesterID = s }},
	{"managed by", func(d *Digest, s string) {
		d.NewInterfaces.Items[1].RequesterManaged, d.NewInterfaces.Items[1].ManagedBy = false, s
	}},
	{"subnet id", func(d *Digest, s string) { d.NewInterfaces.Items[0].SubnetID = s }},
	{"vpc id", func(d *Digest, s string) { d.NewInterfaces.Items[0].VPCID = s }},
	{"security group id", func(d *Digest, s string) { d.NewInterfaces.Items[0].SecurityGroups[0].ID = s }},
	{"warning", func(d *Digest, s string) { d.Warnings = []string{"describing the new interfaces failed: " + s} }},
	{"log group", func(d *Digest, s string) { d.LogGroup = s }},
}

// textHeadings are the starts of the rendering's own lines: no line of
// another principal's text may start like one.
var textHeadings = []string{
	"VPC flow log digest", "Window:", "PARTIAL:", "WARNING:", "No records lost", "Records:", "Bytes:",
	"NODATA", "Top lists", "New interfaces:", "Top talkers", "Top rejected", "Top destination",
	"Busiest interfaces", "Warnings:",
}

// headingLines counts the lines of text starting with each heading.
func headingLines(text string) map[string]int {
	n := map[string]int{}
	for line := range strings.Lines(text) {
		for _, h := range textHeadings {
			if strings.HasPrefix(line, h) {
				n[h]++
			}
		}
	}
	return n
}

// TestTextEscapesHostileStrings renders the sample digest with each
// hostile string in each field another principal can write. Before the
// text was sanitized, ids, types, principals, warnings and the log group
// went out raw (a newline made a fake "Top talkers" heading, ESC cleared
// the reader's terminal) and nothing was capped (a 10 KB description made
// a 10 KB line): 158 of the 169 cases failed, all but the description
// cases that strconv.Quote already escaped (its 10 KB cases failed too).
func TestTextEscapesHostileStrings(t *testing.T) {
	base := sampleDigest(t)
	base.Warnings = []string{"a warning"}
	wantHeadings := headingLines(base.Text())
	for _, f := range hostileFields {
		for _, h := range hostileStrings {
			t.Run(f.name+"/"+h.name, func(t *testing.T) {
				d := sampleDigest(t)
				d.Warnings = []string{"a warning"}
				f.set(&d, h.s)
				text := d.Text()
				if i := strings.IndexFunc(text, unsafeInText); i >= 0 {
					t.Errorf("rune %U at byte %d of the text:\n%s", []rune(text[i:])[0], i, text)
				}
				if !utf8.ValidString(text) {
					t.Errorf("the text is not valid UTF-8:\n%q", text)
				}
				if got := headingLines(text); !maps.Equal(got, wantHeadings) {
					t.Errorf("heading lines %v, want %v:\n%s", got, wantHeadings, text)
				}
				for line := range strings.Lines(text) {
					if n := utf8.RuneCountInString(line); n > 400 {
						t.Errorf("a line of %d runes: %.80q...", n, line)
					}
				}
				if !strings.Contains(text, h.shows) {
					t.Errorf("the text does not show %q:\n%s", h.shows, text)
				}
			})
		}
	}
}

// unsafeInText reports a rune that must not reach a reader raw; the
// rendering's own newlines are the only control characters it writes.
func unsafeInText(r rune) bool {
	if r == '\n' {
		return false
	}
	return r == utf8.RuneError || r < 0x20 || r == 0x7f || !unicode.IsPrint(r) || unicode.Is(unicode.Cf, r)
}

// TestCleanCapsAndEscapes pins the escapes and the cap of one field.
func TestCleanCapsAndEscapes(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		limit    int
		want     safe
	}{
		{"plain", "eni-0c19436730cc350ae", 96, "eni-0c19436730cc350ae"},
		{"exactly the cap", "abcde", 5, "abcde"},
		{"one over the cap", "abcdef", 5, "abcd…"},
		{"escape not split", "abc\x1bdef", 6, "abc…"},
		{"escape at the cap", "ab\n", 4, `ab\n`},
		{"unicode letters kept", "café ünïcode", 96, "café ünïcode"},
		{"emoji kept", "web 🚀", 96, "web 🚀"},
		{"no-break space", "a\u00a0b", 96, `a\u00a0b`},
		{"private use", "a\ue000b", 96, `a\ue000b`},
		{"astral format char", "a\U000e0001b", 96, `a\U000e0001b`},
		{"tab", "a\tb", 96, `a\tb`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clean(tc.in, tc.limit); got != tc.want {
				t.Errorf("clean(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
			}
			if n := utf8.RuneCountInString(string(clean(tc.in, tc.limit))); n > tc.limit {
				t.Errorf("%d runes, cap %d", n, tc.limit)
			}
		})
	}
}

// TestQuoteCannotCloseItsQuotes: a description with a quote and a comma
// could pose as the end of the description and a further field.
func TestQuoteCannotCloseItsQuotes(t *testing.T) {
	if got, want := quote(`web", instance i-0123456789abcdef0, "x`, 96), safe(`"web\", instance i-0123456789abcdef0, \"x"`); got != want {
		t.Errorf("quote = %s, want %s", got, want)
	}
}

// TestSubjectTextFollowsSNSRules: SNS takes a subject of printable ASCII,
// starting with a letter, digit or punctuation, under 100 characters. The
// subject holds only this package's own text today; subjectText keeps it
// within the rules should it ever quote input.
func TestSubjectTextFollowsSNSRules(t *testing.T) {
	for _, h := range hostileStrings {
		t.Run(h.name, func(t *testing.T) {
			for _, in := range []string{h.s, "Flow log digest for " + h.s, "  " + h.s} {
				s := subjectText(in)
				if len(s) == 0 || len(s) >= 100 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
					t.Errorf("subject %q is not printable ASCII under 100 characters", s)
				}
				if c := rune(s[0]); !unicode.IsLetter(c) && !unicode.IsDigit(c) && !unicode.IsPunct(c) {
					t.Errorf("subject %q starts with %q", s, c)
				}
			}
		})
	}
	if got, want := subjectText("café\u202e"), `caf\u00e9\u202e`; got != want {
		t.Errorf("subjectText = %q, want %q", got, want)
	}
}

func TestCapRunes(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		limit    int
		want     string
	}{
		{"short", "web", 5, "web"},
		{"exactly the cap in runes", "ééééé", 5, "ééééé"},
		{"one over", "abcdef", 5, "abcd…"},
		{"multi-byte over", "éééééé", 5, "éééé…"},
		{"10 KB", strings.Repeat("x", 10<<10), 255, strings.Repeat("x", 254) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := capRunes(tc.in, tc.limit); got != tc.want {
				t.Errorf("capRunes(%.40q, %d) = %.40q, want %.40q", tc.in, tc.limit, got, tc.want)
			}
		})
	}
}

// TestRenderHostileGolden shows a reader what escaped and capped fields
// look like (testdata/hostile.txt; DIGEST.md links it).
func TestRenderHostileGolden(t *testing.T) {
	d := sampleDigest(t)
	d.SkipData.Windows = d.SkipData.Windows[:2]
	d.SkipData.Windows[0].InterfaceID = "eni-1\nTop talkers (bytes):"
	d.BusiestInterfaces[0].InterfaceID = "eni-1234abcd\x1b[2J\u202efdp.exe"
	d.NewInterfaces.Items[0].Description = "web \"frontend\"\u2028" + strings.Repeat("A", 10<<10)
	d.NewInterfaces.Items[1].RequesterID = "AROAEXAMPLEID:\x00\xff"
	d.Warnings = []string{"describing the new interfaces failed: api error: \x1b]8;;http://example.com\x07link\x1b]8;;\x07"}
	golden(t, "hostile.txt", []byte(d.Subject()+"\n\n"+d.Text()))
}
