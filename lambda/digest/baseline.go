package digest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// The baseline remembers, for the flow log group, what its interfaces did
// in the last BaselineDays days: the public destinations they sent to, the
// accepted inbound service ports of each interface, and the interfaces
// that had traffic. It is a ring of daily Bloom filters (Bloom, 1970) in
// the run state table, one item per day under sort key "baseline#<slot>",
// slot = day number mod (MaxFindingsBaselineDays+1): the number of items
// never grows, and a slot whose stored day is not the one wanted is read
// as empty and overwritten.
//
// Each filter has bloomBits = 2^20 bits (128 KiB, one DynamoDB item under
// the 400 KB limit) and bloomHashes = 7 positions per key, drawn by double
// hashing from SHA-256 of a per-filter random salt and the key, so that
// nobody can choose addresses that fill it. With n keys in a day the
// chance that a key never added looks present is (1-e^(-7n/2^20))^7:
// about 5e-9 at 10,000 keys, 1.3e-6 at 20,000 and 6.5e-3 at
// bloomMaxKeys = 100,000, where a filter stops taking keys (saturated). A
// key is new when no filter of the last BaselineDays days nor today's
// holds it, so its false "seen" rate is at most BaselineDays+1 times one
// filter's: a new destination is missed with that probability, and
// nothing is ever raised by the filter alone.
const (
	bloomBits    = 1 << 20
	bloomHashes  = 7
	bloomMaxKeys = 100_000
	bloomSlots   = settings.MaxFindingsBaselineDays + 1
	bloomMagic   = "BLM1"
	bloomHeader  = 4 + 8 + 16 + 4 // magic, day, salt, keys
)

// dayFilter is one day's filter and the blob it was read from.
type dayFilter struct {
	day   int64 // days since the Unix epoch, UTC
	salt  [16]byte
	keys  uint32
	bits  []byte
	blob  runstate.Blob
	dirty bool
}

func dayOf(t time.Time) int64 { return t.UTC().Unix() / 86400 }

func slotKey(day int64) string { return fmt.Sprintf("baseline#%d", day%bloomSlots) }

func newDayFilter(day int64, blob runstate.Blob) (*dayFilter, error) {
	f := &dayFilter{day: day, bits: make([]byte, bloomBits/8), blob: blob}
	if _, err := rand.Read(f.salt[:]); err != nil {
		return nil, fmt.Errorf("drawing a baseline filter's salt: %w", err)
	}
	return f, nil
}

// decodeDayFilter reads a stored filter; one of another day is replaced by
// an empty one for day.
func decodeDayFilter(day int64, blob runstate.Blob) (*dayFilter, error) {
	d := blob.Data
	if len(d) == 0 {
		return newDayFilter(day, blob)
	}
	if len(d) != bloomHeader+bloomBits/8 || string(d[:4]) != bloomMagic {
		return nil, fmt.Errorf("baseline item %s: %d bytes, not a filter of this version", blob.SortKey, len(d))
	}
	if stored := int64(binary.BigEndian.Uint64(d[4:12])); stored != day {
		return newDayFilter(day, blob)
	}
	f := &dayFilter{day: day, blob: blob, keys: binary.BigEndian.Uint32(d[28:32]), bits: d[bloomHeader:]}
	copy(f.salt[:], d[12:28])
	return f, nil
}

func (f *dayFilter) encode() []byte {
	out := make([]byte, 0, bloomHeader+len(f.bits))
	out = append(out, bloomMagic...)
	out = binary.BigEndian.AppendUint64(out, uint64(f.day))
	out = append(out, f.salt[:]...)
	out = binary.BigEndian.AppendUint32(out, f.keys)
	return append(out, f.bits...)
}

func (f *dayFilter) positions(key string) [bloomHashes]uint32 {
	h := sha256.New()
	h.Write(f.salt[:])
	h.Write([]byte(key))
	var sum [32]byte
	h.Sum(sum[:0])
	h1, h2 := binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])|1
	var ps [bloomHashes]uint32
	for i := range ps {
		ps[i] = uint32((h1 + uint64(i)*h2) % bloomBits)
	}
	return ps
}

func (f *dayFilter) has(key string) bool {
	for _, p := range f.positions(key) {
		if f.bits[p/8]&(1<<(p%8)) == 0 {
			return false
		}
	}
	return true
}

// add sets key's bits while the filter is below bloomMaxKeys.
func (f *dayFilter) add(key string) {
	if f.keys >= bloomMaxKeys || f.has(key) {
		return
	}
	for _, p := range f.positions(key) {
		f.bits[p/8] |= 1 << (p % 8)
	}
	f.keys++
	f.dirty = true
}

// falsePositive is the filter's chance of holding a key never added.
func (f *dayFilter) falsePositive() float64 {
	return math.Pow(1-math.Exp(-float64(bloomHashes)*float64(f.keys)/bloomBits), bloomHashes)
}

// baseline is the filters of the days a run consults and the history.
type baseline struct {
	days    int
	filters []*dayFilter // today's last
	history history
	histRaw runstate.Blob
}

// history is the findings#history item: when the baseline started, and
// the bytes that left to public addresses in each recent window.
type history struct {
	Since   time.Time     `json:"since"`
	Windows []egressEntry `json:"windows"`
}

type egressEntry struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Bytes    uint64    `json:"bytes"`    // to public addresses outside AWS's ranges
	AWSBytes uint64    `json:"awsBytes"` // to AWS's ranges
}

const historyKey = "findings#history"

// maxHistory bounds the history: eight days of hourly windows and some.
const maxHistory = 8*24 + 32

// loadBaseline reads the filters of the days [today-days, today] and the
// history: days+2 reads.
func loadBaseline(ctx context.Context, st *runstate.Store, today time.Time, days int) (*baseline, error) {
	b := &baseline{days: days}
	t := dayOf(today)
	for d := t - int64(days); d <= t; d++ {
		blob, err := st.LoadBlob(ctx, slotKey(d))
		if err != nil {
			return nil, err
		}
		f, err := decodeDayFilter(d, blob)
		if err != nil {
			return nil, err
		}
		b.filters = append(b.filters, f)
	}
	raw, err := st.LoadBlob(ctx, historyKey)
	if err != nil {
		return nil, err
	}
	b.histRaw = raw
	if len(raw.Data) > 0 {
		if err := json.Unmarshal(raw.Data, &b.history); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", historyKey, err)
		}
	}
	return b, nil
}

// seen reports whether any filter holds key.
func (b *baseline) seen(key string) bool {
	for _, f := range b.filters {
		if f.has(key) {
			return true
		}
	}
	return false
}

func (b *baseline) today() *dayFilter { return b.filters[len(b.filters)-1] }

// warm reports whether the baseline has learnt for a full day before from:
// until then nothing is new, everything is being learnt.
func (b *baseline) warm(from time.Time) bool {
	return !b.history.Since.IsZero() && !b.history.Since.After(from.Add(-24*time.Hour))
}

// falsePositive is the chance that a key never added looks seen.
func (b *baseline) falsePositive() float64 {
	miss := 1.0
	for _, f := range b.filters {
		miss *= 1 - f.falsePositive()
	}
	return 1 - miss
}

// record adds a window's egress to the history, dropping what is older
// than eight days before it and keeping at most maxHistory entries.
func (b *baseline) record(w Window, bytes, awsBytes uint64) {
	if b.history.Since.IsZero() {
		b.history.Since = w.From
	}
	keep := b.history.Windows[:0]
	for _, e := range b.history.Windows {
		if e.To.After(w.From.Add(-8*24*time.Hour)) && !e.From.Equal(w.From) {
			keep = append(keep, e)
		}
	}
	b.history.Windows = append(keep, egressEntry{From: w.From, To: w.To, Bytes: bytes, AWSBytes: awsBytes})
	if n := len(b.history.Windows); n > maxHistory {
		b.history.Windows = b.history.Windows[n-maxHistory:]
	}
}

// lastWeek returns the bytes of the same window a week before, prorated
// by overlap, and whether the history covers at least half of it.
func (b *baseline) lastWeek(w Window) (uint64, bool) {
	from, to := w.From.Add(-7*24*time.Hour), w.To.Add(-7*24*time.Hour)
	var bytes float64
	var covered time.Duration
	for _, e := range b.history.Windows {
		lo, hi := maxTime(e.From, from), minTime(e.To, to)
		if !hi.After(lo) || !e.To.After(e.From) {
			continue
		}
		share := hi.Sub(lo)
		covered += share
		bytes += float64(e.Bytes) * float64(share) / float64(e.To.Sub(e.From))
	}
	return uint64(math.Round(bytes)), covered*2 >= to.Sub(from)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// save writes today's filter when it changed, and the history. A lost
// race (another run wrote first) loses this window's learning only.
func (b *baseline) save(ctx context.Context, st *runstate.Store, writer string) error {
	var errs []error
	if f := b.today(); f.dirty {
		if _, err := st.SaveBlob(ctx, runstate.Blob{SortKey: slotKey(f.day), Version: f.blob.Version}, f.encode(), writer); err != nil {
			errs = append(errs, err)
		}
	}
	raw, err := json.Marshal(b.history)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", historyKey, err)
	}
	if _, err := st.SaveBlob(ctx, b.histRaw, raw, writer); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
