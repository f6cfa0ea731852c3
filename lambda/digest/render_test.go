package digest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
