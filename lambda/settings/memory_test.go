package settings

import "testing"

func TestFunctionMemory(t *testing.T) {
	for mb, ok := range map[int]bool{127: false, 128: true, 256: true, 1769: true, 10240: true, 10241: false, 0: false} {
		if err := ValidateFunctionMemoryMB(mb); (err == nil) != ok {
			t.Errorf("ValidateFunctionMemoryMB(%d) = %v, want accepted %t", mb, err, ok)
		}
	}
	if got := DefaultSummarizerMemory(DestinationS3); got != 1769 {
		t.Errorf("S3: %d MB, want 1769 (one vCPU)", got)
	}
	if got := DefaultSummarizerMemory(DestinationCloudWatchLogs); got != 256 {
		t.Errorf("CloudWatch Logs: %d MB, want 256", got)
	}
}
