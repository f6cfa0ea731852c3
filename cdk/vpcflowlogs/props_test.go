package vpcflowlogs

import (
	"path/filepath"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

func TestEveryRetentionHasAnEnum(t *testing.T) {
	for _, d := range settings.RetentionDays {
		if _, ok := retentionDays[d]; !ok {
			t.Errorf("retention of %d days accepted by settings but has no awslogs.RetentionDays", d)
		}
	}
	if len(retentionDays) != len(settings.RetentionDays) {
		t.Errorf("%d enum values for %d accepted retentions", len(retentionDays), len(settings.RetentionDays))
	}
}

// TestListModuleDir covers the way moduleDir finds the source when the
// construct was compiled with -trimpath: go list -m from the working
// directory, here the repository's own module.
func TestListModuleDir(t *testing.T) {
	dir, err := listModuleDir()
	want, _ := filepath.Abs("../..")
	if err != nil || dir != want {
		t.Errorf("listModuleDir() = %q, %v; want %q", dir, err, want)
	}
	if isModuleRoot(t.TempDir()) || isModuleRoot(filepath.Join(want, "cdk")) {
		t.Error("a directory without this module's go.mod taken for its root")
	}
}
