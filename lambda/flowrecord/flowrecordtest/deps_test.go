package flowrecordtest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestShippedBinariesDoNotLinkThis keeps the generator what it is, test
// support: the Lambda binaries must not link it, as they did while it lived
// in package flowrecord. (Checked by adding this package to the
// summarizer's imports: the test then fails naming it.)
func TestShippedBinariesDoNotLinkThis(t *testing.T) {
	for _, bin := range []string{"summarizer", "enabler"} {
		t.Run(bin, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "../../"+bin).Output()
			if err != nil {
				t.Fatalf("go list -deps lambda/%s: %v", bin, err)
			}
			for _, pkg := range strings.Fields(string(out)) {
				if strings.HasSuffix(pkg, "/flowrecordtest") {
					t.Errorf("lambda/%s links %s", bin, pkg)
				}
			}
		})
	}
}
