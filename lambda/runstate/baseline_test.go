package runstate_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// TestBlobRoundTripAndRace checks against moto that a blob is written,
// read back byte for byte, updated on its version, that a write from a
// stale version is a ConflictError, and that sort keys outside the blob
// prefixes and oversized data are refused before any call.
func TestBlobRoundTripAndRace(t *testing.T) {
	db := newTable(t)
	s, err := runstate.New(db, table, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	empty, err := s.LoadBlob(ctx, "baseline#3")
	if err != nil || empty.Version != 0 || empty.Data != nil {
		t.Fatalf("missing blob: %+v, %v", empty, err)
	}
	data := bytes.Repeat([]byte{0xa5, 0, 0xff}, 50_000)
	first, err := s.SaveBlob(ctx, empty, data, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadBlob(ctx, "baseline#3")
	if err != nil || got.Version != 1 || got.WrittenBy != "run-1" || !bytes.Equal(got.Data, data) {
		t.Fatalf("read back version %d by %q, %d bytes, %v", got.Version, got.WrittenBy, len(got.Data), err)
	}
	if _, err := s.SaveBlob(ctx, first, []byte("second"), "run-2"); err != nil {
		t.Fatal(err)
	}
	var conflict *runstate.ConflictError
	if _, err := s.SaveBlob(ctx, first, []byte("stale"), "run-3"); !errors.As(err, &conflict) {
		t.Errorf("a write from a stale version: %v; want a ConflictError", err)
	}
	if _, err := s.SaveBlob(ctx, empty, []byte("again"), "run-4"); !errors.As(err, &conflict) {
		t.Errorf("a second create: %v; want a ConflictError", err)
	}
	for _, tt := range []struct {
		name string
		sk   string
		data []byte
	}{
		{"the checkpoint's key", "checkpoint", nil},
		{"a bare prefix", "baseline#", nil},
		{"too large", "findings#history", make([]byte, runstate.MaxBlobBytes+1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.SaveBlob(ctx, runstate.Blob{SortKey: tt.sk}, tt.data, "run-5"); err == nil {
				t.Errorf("SaveBlob(%q, %d bytes) succeeded", tt.sk, len(tt.data))
			}
		})
	}
	if cp, err := s.Load(ctx); err != nil || cp.Version != 0 {
		t.Errorf("blobs touched the checkpoint: %+v, %v", cp, err)
	}
}
