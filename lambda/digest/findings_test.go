package digest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

var (
	testWindow = Window{From: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)}
	testENI    = "eni-0a1b2c3d4e5f67890"
	testENI2   = "eni-0fedcba9876543210"
)

func testRanges(t *testing.T) *flowrecord.AWSRanges {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "flowrecord", "testdata", "ip-ranges.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := flowrecord.ParseAWSRanges(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// memBaseline is a baseline as loadBaseline returns it, with empty
// filters, learning since the given time, without a store.
func memBaseline(t *testing.T, since time.Time) *baseline {
	t.Helper()
	b := &baseline{days: settings.DefaultFindingsBaselineDays, history: history{Since: since}, histRaw: runstate.Blob{SortKey: historyKey}}
	today := dayOf(testWindow.From)
	for d := today - int64(b.days); d <= today; d++ {
		f, err := newDayFilter(d, runstate.Blob{SortKey: slotKey(d)})
		if err != nil {
			t.Fatal(err)
		}
		b.filters = append(b.filters, f)
	}
	return b
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// findingCases are one case per finding type, and the plain one with none.
func findingCases(t *testing.T) []struct {
	name string
	in   findingsInput
} {
	warm := testWindow.From.Add(-8 * 24 * time.Hour)
	lastWeek := memBaseline(t, warm)
	lastWeek.filters[0].add(destKey("", addr("198.51.100.200"))) // a known destination, 500 times its volume
	lastWeek.history.Windows = []egressEntry{{From: testWindow.From.Add(-7 * 24 * time.Hour), To: testWindow.To.Add(-7 * 24 * time.Hour), Bytes: 10 << 20}}
	start := testWindow.From.Unix() + 300
	return []struct {
		name string
		in   findingsInput
	}{
		{"none", findingsInput{base: memBaseline(t, warm)}},
		{FindingPortScan, findingsInput{signals: flowrecord.Signals{PortScans: []flowrecord.Fanout{{
			Src: addr("198.51.100.7"), Dst: addr("10.0.0.5"), Port: -1, Protocol: -1, Distinct: 187,
			Records: 200, Accepted: 3, Rejected: 197, FirstStart: start, LastEnd: start + 60, InterfaceID: testENI,
		}}}}},
		{FindingSweep, findingsInput{signals: flowrecord.Signals{Sweeps: []flowrecord.Fanout{{
			Src: addr("10.0.0.5"), Port: 22, Protocol: 6, Distinct: 60,
			Records: 60, Accepted: 60, FirstStart: start, LastEnd: start + 60, InterfaceID: testENI,
		}}}}},
		{FindingNewExternal, findingsInput{base: memBaseline(t, warm), vpcOf: map[string]string{testENI: "vpc-0f1e2d3c4b5a69788"}, signals: flowrecord.Signals{Egress: []flowrecord.Egress{
			{InterfaceID: testENI, Dst: addr("203.0.113.50"), Bytes: 27_000},
			{InterfaceID: testENI2, Dst: addr("52.217.1.2"), Bytes: 1 << 20}, // S3: AWS's, never new
		}}}},
		{FindingNewInbound, findingsInput{base: memBaseline(t, warm), signals: flowrecord.Signals{InboundPorts: []flowrecord.InboundPort{
			{InterfaceID: testENI, Port: 9999, Protocol: 6, Records: 5},
		}}}},
		{FindingNewInterface, findingsInput{base: memBaseline(t, warm), ifaces: []flowrecord.InterfaceSummary{
			{InterfaceID: testENI2, Totals: flowrecord.Totals{Records: 42, Accepted: 40, Rejected: 2, Bytes: 123_456, FirstStart: start}},
		}}},
		{FindingExfiltration, findingsInput{base: lastWeek, signals: flowrecord.Signals{Egress: []flowrecord.Egress{
			{InterfaceID: testENI, Dst: addr("198.51.100.200"), Bytes: 5 << 30},
		}}}},
		{"learning", findingsInput{base: memBaseline(t, testWindow.From.Add(-time.Hour)), signals: flowrecord.Signals{Egress: []flowrecord.Egress{
			{InterfaceID: testENI, Dst: addr("203.0.113.50"), Bytes: 27_000},
		}}}},
	}
}

// TestFindingsGolden renders each finding type (and none, and a baseline
// still learning) as text and JSON against testdata/findings/<name>.*, and
// checks that each case raises exactly the finding of its type.
func TestFindingsGolden(t *testing.T) {
	for _, tc := range findingCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.window, in.th, in.ranges = testWindow, settings.DefaultFindings(), testRanges(t)
			fs, basis := buildFindings(in)
			d := Digest{Findings: fs, FindingsBasis: &basis}
			d.normalize()
			want := 1
			if tc.name == "none" || tc.name == "learning" {
				want = 0
			}
			if len(fs) != want || (want == 1 && fs[0].Type != tc.name) {
				t.Fatalf("findings %+v; want %d of type %s", fs, want, tc.name)
			}
			var w textWriter
			d.textFindings(&w)
			golden(t, filepath.Join("findings", tc.name+".txt"), []byte(w.b.String()))
			b, err := json.MarshalIndent(struct {
				Findings      []Finding      `json:"findings"`
				FindingsBasis *FindingsBasis `json:"findingsBasis"`
			}{d.Findings, d.FindingsBasis}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("findings", tc.name+".json"), append(b, '\n'))
		})
	}
}

// TestBaselineLearns checks that what a warm baseline reported as new is
// not new in the next window, and that AWS's addresses count apart.
func TestBaselineLearns(t *testing.T) {
	base := memBaseline(t, testWindow.From.Add(-48*time.Hour))
	in := findingsInput{window: testWindow, th: settings.DefaultFindings(), ranges: testRanges(t), base: base,
		signals: flowrecord.Signals{
			Egress:       []flowrecord.Egress{{InterfaceID: testENI, Dst: addr("203.0.113.50"), Bytes: 1000}, {InterfaceID: testENI, Dst: addr("54.231.7.7"), Bytes: 500}},
			InboundPorts: []flowrecord.InboundPort{{InterfaceID: testENI, Port: 443, Protocol: 6, Records: 9}},
		},
		ifaces: []flowrecord.InterfaceSummary{{InterfaceID: testENI, Totals: flowrecord.Totals{Records: 10}}},
	}
	first, basis := buildFindings(in)
	if len(first) != 3 || basis.EgressBytes != 1000 || basis.EgressAWSBytes != 500 {
		t.Fatalf("first window: %d findings, egress %d + AWS %d; want 3, 1000 + 500: %+v", len(first), basis.EgressBytes, basis.EgressAWSBytes, first)
	}
	in.window = Window{From: testWindow.To, To: testWindow.To.Add(time.Hour)}
	if again, _ := buildFindings(in); len(again) != 0 {
		t.Errorf("the next window raised again: %+v", again)
	}
}

// TestBloomFalsePositiveRate measures a filter's false positives at 20,000
// keys against its formula, and checks that it survives its encoding.
func TestBloomFalsePositiveRate(t *testing.T) {
	f, err := newDayFilter(20_000, runstate.Blob{SortKey: slotKey(20_000)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20_000 {
		f.add(fmt.Sprintf("d|10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
	}
	back, err := decodeDayFilter(20_000, runstate.Blob{SortKey: slotKey(20_000), Data: f.encode()})
	if err != nil || back.keys != 20_000 || !back.has("d|10.0.0.7") {
		t.Fatalf("decoded filter: %d keys, %v", back.keys, err)
	}
	fp := 0
	const probes = 200_000
	for i := range probes {
		if back.has(fmt.Sprintf("d|192.0.%d.%d", i>>8, i&255)) {
			fp++
		}
	}
	t.Logf("20,000 keys: %d false positives in %d probes; formula %.2g", fp, probes, f.falsePositive())
	if rate := float64(fp) / probes; rate > 10*f.falsePositive()+1e-5 {
		t.Errorf("false positive rate %.2g, formula %.2g", rate, f.falsePositive())
	}
	if n := len(f.encode()); n > runstate.MaxBlobBytes {
		t.Errorf("a filter item is %d bytes, over %d", n, runstate.MaxBlobBytes)
	}
	other, err := decodeDayFilter(20_001, runstate.Blob{SortKey: slotKey(20_001), Data: f.encode()})
	if err != nil || other.keys != 0 || other.has("d|10.0.0.7") {
		t.Errorf("a filter of another day read as today's: %d keys, %v", other.keys, err)
	}
}

// TestValidVPCID checks the shape a VPC id must have before it becomes part
// of a baseline key.
func TestValidVPCID(t *testing.T) {
	for id, want := range map[string]bool{
		"vpc-0f1e2d3c4b5a69788": true, "vpc-1a2b3c4d": true, "": false, "vpc-": false,
		"vpc-0F1E2D3C4B5A69788": false, "vpc-1a2b3c4d|x": false, "subnet-1a2b3c4d": false,
	} {
		if got := validVPCID(id); got != want {
			t.Errorf("validVPCID(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestFindingsTextEscapes checks that a finding whose strings carry
// control, bidi and newline characters renders on its own lines, escaped:
// the findings' strings come from records, which others write.
func TestFindingsTextEscapes(t *testing.T) {
	evil := "eni-1\nNo findings.\u202e\x1b[2J"
	d := Digest{FindingsBasis: &FindingsBasis{Total: 1, Baseline: "warm"}, Findings: []Finding{{
		Type: FindingNewInterface, Severity: SeverityLow, Subject: evil, Why: "because " + evil,
		Evidence: Evidence{Interfaces: []string{evil}, Addresses: []string{}, Ports: []string{}},
	}}}
	var w textWriter
	d.textFindings(&w)
	text := w.b.String()
	for _, bad := range []string{"\nNo findings.", "\u202e", "\x1b"} {
		if strings.Contains(text, bad) {
			t.Errorf("rendered text holds %q raw:\n%s", bad, text)
		}
	}
	if !strings.Contains(text, `eni-1\nNo findings.\u202e\x1b[2J`) {
		t.Errorf("the subject is not shown escaped:\n%s", text)
	}
}
