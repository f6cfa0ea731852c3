package digest

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// New interfaces in S3 mode. The log group mode dates an interface by its
// first log stream; objects in a bucket have no per-interface streams, so
// an interface is new in S3 mode when the window's records name it and the
// set of interfaces already seen, kept in the run state, does not hold it.
// The first window read from a bucket therefore lists every interface as
// new, as the first window of a new flow log group does (all its streams
// are created then).
//
// The set is one blob (sort key seenInterfacesKey) of at most
// MaxSeenInterfaces entries, each an interface id and the hour it was last
// seen; past the bound the entries seen longest ago are dropped, and such
// an interface is listed as new again when it comes back. The ids checked
// are those the aggregator tracked one by one (flowrecord's MaxInterfaces,
// 10,000 a window); the records of interfaces past that bound are not
// checked, and the digest says how many (records are written by others,
// who could name any number of interfaces).
//
// Exactly once with the checkpoint: the run writes the set before its
// digest, with the ids it adds marked pending and the end of the window
// it read. The next run reads the set after it settled the checkpoint
// (package doc: a digest written but not checkpointed is adopted): when
// the checkpoint reached that end, the window was counted and its pending
// ids are kept; otherwise the run that added them failed, nothing listed
// them, and they are dropped. A window given up on (giveUp) drops them
// too, since its digest counts no record.

const (
	// MaxSeenInterfaces bounds the set of interfaces already seen: 25,000
	// entries of 13 bytes, 325 KB, under runstate.MaxBlobBytes.
	MaxSeenInterfaces = 25_000
	seenInterfacesKey = "interfaces#seen"
	seenMagic         = "ENI1"
	seenHeader        = 4 + 8 + 4 // magic, pending end (Unix seconds, 0: none), entries
	seenEntryBytes    = 9 + 4     // the id packed, the hour last seen (top bit: pending)
	seenPendingBit    = 1 << 31
)

// seenEntry is one interface of the set.
type seenEntry struct {
	id      [9]byte // packENI
	hour    uint32  // hours since the Unix epoch, UTC, when last seen
	pending bool    // added by the run that wrote the set; see above
}

// seenInterfaces is the set as a run reads, updates and writes it.
type seenInterfaces struct {
	blob       runstate.Blob
	entries    map[[9]byte]seenEntry
	pendingEnd time.Time
	// reset says why a set that could not be decoded was started over.
	reset string
}

// loadSeenInterfaces reads the set and settles the pending ids of the run
// that wrote it against the checkpoint cp this run starts from.
func loadSeenInterfaces(ctx context.Context, st *runstate.Store, cp runstate.Checkpoint) (*seenInterfaces, error) {
	b, err := st.LoadBlob(ctx, seenInterfacesKey)
	if err != nil {
		return nil, fmt.Errorf("reading the interfaces already seen: %w", err)
	}
	s := &seenInterfaces{blob: b, entries: map[[9]byte]seenEntry{}}
	if len(b.Data) == 0 {
		return s, nil
	}
	entries, pendingEnd, err := decodeSeen(b.Data)
	if err != nil {
		// Only the functions write the table, so this is a bug, not an
		// attack; starting over lists this window's interfaces as new
		// once, where refusing would stop the digests.
		s.reset = fmt.Sprintf("the interfaces already seen could not be read (%v); the set starts over, so this window lists every interface as new", err)
		return s, nil
	}
	committed := !pendingEnd.IsZero() && !cp.End.Before(pendingEnd)
	for _, e := range entries {
		if e.pending && !committed {
			continue // its run did not count its window
		}
		e.pending = false
		s.entries[e.id] = e
	}
	return s, nil
}

// newIn returns the window's new interfaces among the ids the summary
// tracked, marks them pending in the set and refreshes the others' hour,
// and returns the warnings the digest carries about them.
func (s *seenInterfaces) newIn(summary *flowrecord.Summary, w Window) ([]newInterface, []string) {
	var warnings []string
	if s.reset != "" {
		warnings = append(warnings, s.reset)
	}
	if o := summary.InterfaceOverflow; o.Records > 0 {
		warnings = append(warnings, fmt.Sprintf("new interfaces: only the %d interfaces tracked one by one were checked against those already seen; %d records of other interfaces were not",
			summary.MaxInterfaces, o.Records))
	}
	hour := uint32(w.To.UTC().Unix() / 3600)
	var out []newInterface
	for _, t := range summary.Interfaces {
		id, ok := packENI(t.InterfaceID)
		if !ok {
			continue // the parser takes only ids of AWS's form; never a key otherwise
		}
		e, seen := s.entries[id]
		if !seen {
			e = seenEntry{id: id, pending: true}
			created := w.From
			if t.FirstStart > 0 {
				created = time.Unix(t.FirstStart, 0).UTC()
			}
			out = append(out, newInterface{ID: t.InterfaceID, Streams: []string{}, Created: created})
		}
		e.hour = max(e.hour, hour)
		s.entries[id] = e
	}
	s.pendingEnd = w.To
	slices.SortFunc(out, func(a, b newInterface) int { return cmp.Compare(a.ID, b.ID) })
	return out, warnings
}

// save writes the set, on condition that nobody wrote it since it was
// read, dropping the entries seen longest ago past MaxSeenInterfaces.
func (s *seenInterfaces) save(ctx context.Context, st *runstate.Store, writer string) error {
	entries := make([]seenEntry, 0, len(s.entries))
	for _, e := range s.entries {
		entries = append(entries, e)
	}
	entries = boundSeen(entries, MaxSeenInterfaces)
	if _, err := st.SaveBlob(ctx, s.blob, encodeSeen(entries, s.pendingEnd), writer); err != nil {
		return fmt.Errorf("recording the interfaces seen: %w", err)
	}
	return nil
}

// boundSeen keeps at most limit entries: the pending ones, then those
// seen most recently. (At the bound, an entry dropped for a pending one
// whose run then fails is forgotten too: it is listed as new again when
// next seen.)
func boundSeen(entries []seenEntry, limit int) []seenEntry {
	slices.SortFunc(entries, func(a, b seenEntry) int {
		if a.pending != b.pending {
			if a.pending {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.hour, a.hour); c != 0 {
			return c
		}
		return slices.Compare(a.id[:], b.id[:])
	})
	return entries[:min(len(entries), limit)]
}

func encodeSeen(entries []seenEntry, pendingEnd time.Time) []byte {
	slices.SortFunc(entries, func(a, b seenEntry) int { return slices.Compare(a.id[:], b.id[:]) })
	out := make([]byte, 0, seenHeader+len(entries)*seenEntryBytes)
	out = append(out, seenMagic...)
	end := int64(0)
	if !pendingEnd.IsZero() {
		end = pendingEnd.Unix()
	}
	out = binary.BigEndian.AppendUint64(out, uint64(end))
	out = binary.BigEndian.AppendUint32(out, uint32(len(entries)))
	for _, e := range entries {
		out = append(out, e.id[:]...)
		h := e.hour &^ seenPendingBit
		if e.pending {
			h |= seenPendingBit
		}
		out = binary.BigEndian.AppendUint32(out, h)
	}
	return out
}

func decodeSeen(b []byte) ([]seenEntry, time.Time, error) {
	if len(b) < seenHeader || string(b[:4]) != seenMagic {
		return nil, time.Time{}, errors.New("not a set of interfaces: bad header")
	}
	end := int64(binary.BigEndian.Uint64(b[4:12]))
	n := int(binary.BigEndian.Uint32(b[12:16]))
	if n > MaxSeenInterfaces || len(b) != seenHeader+n*seenEntryBytes {
		return nil, time.Time{}, fmt.Errorf("%d entries in %d bytes", n, len(b))
	}
	var pendingEnd time.Time
	if end != 0 {
		pendingEnd = time.Unix(end, 0).UTC()
	}
	out := make([]seenEntry, n)
	for i := range out {
		p := b[seenHeader+i*seenEntryBytes:]
		copy(out[i].id[:], p[:9])
		if _, ok := unpackENI(out[i].id); !ok {
			return nil, time.Time{}, fmt.Errorf("entry %d is not an interface id", i)
		}
		h := binary.BigEndian.Uint32(p[9:13])
		out[i].hour, out[i].pending = h&^seenPendingBit, h&seenPendingBit != 0
	}
	return out, pendingEnd, nil
}

// packENI packs an interface id of AWS's form, eni- and 8 or 17
// lower-case hex digits, into 9 bytes: the first holds the first of 17
// digits, or 0x10 for an 8-digit id; the other 8 the remaining digits.
func packENI(id string) ([9]byte, bool) {
	var out [9]byte
	hex, ok := cutENI(id)
	if !ok {
		return out, false
	}
	rest := hex
	if len(hex) == 17 {
		first, _ := strconv.ParseUint(hex[:1], 16, 8)
		out[0], rest = byte(first), hex[1:]
	} else {
		out[0] = 0x10
	}
	v, err := strconv.ParseUint(rest, 16, 64)
	if err != nil {
		return out, false
	}
	binary.BigEndian.PutUint64(out[1:], v)
	return out, true
}

// unpackENI is packENI's inverse.
func unpackENI(p [9]byte) (string, bool) {
	v := binary.BigEndian.Uint64(p[1:])
	switch {
	case p[0] == 0x10 && v <= 0xffffffff:
		return fmt.Sprintf("eni-%08x", v), true
	case p[0] < 0x10:
		return fmt.Sprintf("eni-%x%016x", p[0], v), true
	}
	return "", false
}

// cutENI returns the hex digits of an interface id of AWS's form.
func cutENI(id string) (string, bool) {
	if len(id) != len(eniPrefix)+8 && len(id) != len(eniPrefix)+17 || id[:len(eniPrefix)] != eniPrefix {
		return "", false
	}
	hex := id[len(eniPrefix):]
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return hex, true
}

// s3NewInterfaces is the S3 mode's new-interface step of a run: the set
// read and settled against cp, the window's new interfaces, and the set
// to write before the digest (saveSeenInterfaces).
func (s *Summarizer) s3NewInterfaces(ctx context.Context, cp runstate.Checkpoint, summary *flowrecord.Summary, w Window) ([]newInterface, []string, *seenInterfaces, error) {
	seen, err := loadSeenInterfaces(ctx, s.state, cp)
	if err != nil {
		return nil, nil, nil, err
	}
	fresh, warnings := seen.newIn(summary, w)
	return fresh, warnings, seen, nil
}

// dropPendingInterfaces settles the set when a window is given up on: the
// pending ids of the runs that failed on it were listed by no digest.
func (s *Summarizer) dropPendingInterfaces(ctx context.Context, rc runCtx, cp runstate.Checkpoint) error {
	if s.s3 == nil {
		return nil
	}
	seen, err := loadSeenInterfaces(ctx, s.state, cp)
	if err != nil {
		return err
	}
	if seen.blob.Version == 0 {
		return nil
	}
	seen.pendingEnd = time.Time{}
	if err := seen.save(ctx, s.state, rc.nonce); err != nil {
		return err
	}
	slog.InfoContext(ctx, "dropped the interfaces pending from failed runs of the window given up on")
	return nil
}
