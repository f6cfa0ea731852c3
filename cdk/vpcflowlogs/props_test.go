package vpcflowlogs

import (
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
