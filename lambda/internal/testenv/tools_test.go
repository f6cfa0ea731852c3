package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how Need ended the test instead of
// ending it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

// TestNeed proves that a missing tool skips a test run by hand and fails it
// under make test, naming the tool and its install command either way.
func TestNeed(t *testing.T) {
	missing := Tool{Name: "no-such-tool-for-testenv", Install: "apt-get install no-such-tool"}
	for _, tc := range []struct {
		name     string
		require  string
		wantSkip bool
	}{
		{"by hand: skip", "", true},
		{"under make test: fail", "1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(RequireToolsEnv, tc.require)
			r := &recorder{TB: t}
			Need(r, missing)
			got := r.failed
			if tc.wantSkip {
				got = r.skipped
			}
			if got == "" || !strings.Contains(got, missing.Name) || !strings.Contains(got, missing.Install) {
				t.Errorf("skipped %q, failed %q; want the %s one to name the tool and its install command", r.skipped, r.failed, map[bool]string{true: "skip", false: "fail"}[tc.wantSkip])
			}
		})
	}
	r := &recorder{TB: t}
	Need(r, Tool{Name: "go"})
	if r.skipped != "" || r.failed != "" {
		t.Errorf("a tool on PATH ended the test: skipped %q, failed %q", r.skipped, r.failed)
	}
}
