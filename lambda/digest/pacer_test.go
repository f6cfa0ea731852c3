package digest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestPacer checks the pacer's semantics: a burst of one (the first call at
// once, each next one an interval later), no pacing for a rate that is not
// positive, and a turn past the context's deadline returning only when the
// deadline has passed, with the context's own error. The last case fails
// with rate.Limiter.Wait, which refuses such a turn at once with an error
// of its own while the context is still live: readSlices would then take
// the run's read deadline for a failed read.
func TestPacer(t *testing.T) {
	tests := []struct {
		name    string
		rate    float64
		calls   int
		timeout time.Duration
		// atLeast is the least time the calls take; wantErr the error of
		// the last one.
		atLeast time.Duration
		wantErr error
	}{
		{"unpaced", 0, 50, time.Minute, 0, nil},
		{"the first call goes at once", 1, 1, 100 * time.Millisecond, 0, nil},
		{"the next ones an interval apart", 40, 5, time.Minute, 100 * time.Millisecond, nil},
		{"a turn past the deadline waits for it", 2, 2, 150 * time.Millisecond, 150 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPacer(tt.rate)
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			start := time.Now()
			var err error
			for range tt.calls {
				err = p.wait(ctx)
			}
			took := time.Since(start)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("last wait: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && ctx.Err() == nil {
				t.Error("the pacer gave up before the context ended")
			}
			if took < tt.atLeast {
				t.Errorf("%d calls took %s, want at least %s", tt.calls, took, tt.atLeast)
			}
		})
	}
}
