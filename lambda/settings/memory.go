package settings

import "fmt"

// The summarizer's memory, which sets its CPU: Lambda gives a function CPU
// in proportion to its memory, a full vCPU at 1,769 MB, and bills
// GB-seconds, so a digest bound by CPU costs about the same at any size and
// finishes sooner at a larger one. A run reading CloudWatch Logs waits on
// FilterLogEvents' quota, not on CPU, and keeps the small size; a run
// reading S3 decodes as fast as its CPU allows (lambda/digest/PERFORMANCE.md,
// "Capacity").
const (
	// DefaultSummarizerMemoryMB is the summarizer's memory when flow logs go
	// to CloudWatch Logs.
	DefaultSummarizerMemoryMB = 256
	// DefaultSummarizerMemoryMBS3 is the summarizer's memory when flow logs
	// go to S3: one full vCPU.
	DefaultSummarizerMemoryMBS3 = 1769
	// MinFunctionMemoryMB and MaxFunctionMemoryMB are Lambda's limits.
	MinFunctionMemoryMB = 128
	MaxFunctionMemoryMB = 10240
)

// DefaultSummarizerMemory is the summarizer's memory for a destination.
func DefaultSummarizerMemory(destination string) int {
	if destination == DestinationS3 {
		return DefaultSummarizerMemoryMBS3
	}
	return DefaultSummarizerMemoryMB
}

// ValidateFunctionMemoryMB checks a function's memory against Lambda's
// limits: 128 to 10,240 MB.
func ValidateFunctionMemoryMB(mb int) error {
	if mb < MinFunctionMemoryMB || mb > MaxFunctionMemoryMB {
		return fmt.Errorf("function memory of %d MB is not valid: use %d to %d", mb, MinFunctionMemoryMB, MaxFunctionMemoryMB)
	}
	return nil
}
