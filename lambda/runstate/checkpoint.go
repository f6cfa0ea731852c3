package runstate

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Checkpoint is the summarizer's state for one source.
type Checkpoint struct {
	// End is the exclusive end of all event time counted so far: the next
	// window starts here. Zero before the first run.
	End time.Time
	// Partial is true when the run that wrote it stopped before the end it
	// planned; the next run continues from End.
	Partial bool
	// SliceSeconds is the slice length the next run uses; 0 means the
	// configured one.
	SliceSeconds int64
	// UpdatedAt is when it was written.
	UpdatedAt time.Time
	// Intent is the run in flight, or the last one that did not finish;
	// nil when the last run finished.
	Intent *Intent

	// Version counts the writes; 0 means the item does not exist.
	Version int64
	// WrittenBy is the nonce of the run that wrote this version.
	WrittenBy string
}

// Intent is what a run set out to do before reading: a digest found in the
// digest group counts as this run's only when it carries Nonce and a window
// starting at From and ending no later than To.
type Intent struct {
	Nonce    string
	From, To time.Time
	// Attempts counts the runs started on the window starting at From
	// without finishing it, this one included; FirstStartedAt is when the
	// first of them started.
	Attempts       int
	FirstStartedAt time.Time
	StartedAt      time.Time
}

// Attribute names of the checkpoint item.
const (
	attrVersion      = "version"
	attrWrittenBy    = "writtenBy"
	attrEnd          = "end"
	attrPartial      = "partial"
	attrSliceSeconds = "sliceSeconds"
	attrUpdatedAt    = "updatedAt"
	attrIntent       = "intent"

	attrNonce          = "nonce"
	attrFrom           = "from"
	attrTo             = "to"
	attrAttempts       = "attempts"
	attrFirstStartedAt = "firstStartedAt"
	attrStartedAt      = "startedAt"
)

func sAttr(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func nAttr(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func tAttr(t time.Time) types.AttributeValue {
	if t.IsZero() {
		return sAttr("")
	}
	return sAttr(t.UTC().Format(timeFormat))
}

// encodeCheckpoint returns the item's attributes besides the key. A nil
// intent has no attribute: the update removes it.
func encodeCheckpoint(cp Checkpoint) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{
		attrVersion:      nAttr(cp.Version),
		attrWrittenBy:    sAttr(cp.WrittenBy),
		attrEnd:          tAttr(cp.End),
		attrPartial:      &types.AttributeValueMemberBOOL{Value: cp.Partial},
		attrSliceSeconds: nAttr(cp.SliceSeconds),
		attrUpdatedAt:    tAttr(cp.UpdatedAt),
	}
	if in := cp.Intent; in != nil {
		m[attrIntent] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			attrNonce:          sAttr(in.Nonce),
			attrFrom:           tAttr(in.From),
			attrTo:             tAttr(in.To),
			attrAttempts:       nAttr(int64(in.Attempts)),
			attrFirstStartedAt: tAttr(in.FirstStartedAt),
			attrStartedAt:      tAttr(in.StartedAt),
		}}
	}
	return m
}

// updateExpression sets every attribute of attrs and removes the intent
// when attrs has none.
func updateExpression(attrs map[string]types.AttributeValue) (string, map[string]string, map[string]types.AttributeValue) {
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	expr := "SET "
	for i, k := range slices.Sorted(maps.Keys(attrs)) {
		if i > 0 {
			expr += ", "
		}
		names["#"+k] = k
		values[":"+k] = attrs[k]
		expr += "#" + k + " = :" + k
	}
	if _, ok := attrs[attrIntent]; !ok {
		names["#"+attrIntent] = attrIntent
		expr += " REMOVE #" + attrIntent
	}
	return expr, names, values
}

// fields reads typed attributes and keeps the first error, naming the
// attribute.
type fields struct {
	m   map[string]types.AttributeValue
	err error
}

func (f *fields) fail(name string, format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf("attribute %s: %s", name, fmt.Sprintf(format, args...))
	}
}

func (f *fields) str(name string) string {
	v, ok := f.m[name]
	if !ok {
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		f.fail(name, "want a string, got %T", v)
		return ""
	}
	return s.Value
}

func (f *fields) num(name string) int64 {
	v, ok := f.m[name]
	if !ok {
		return 0
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		f.fail(name, "want a number, got %T", v)
		return 0
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil || i < 0 {
		f.fail(name, "want a whole number from 0, got %q", n.Value)
	}
	return i
}

func (f *fields) time(name string) time.Time {
	s := f.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		f.fail(name, "want an RFC 3339 time, got %q", s)
	}
	return t.UTC()
}

func (f *fields) boolean(name string) bool {
	v, ok := f.m[name]
	if !ok {
		return false
	}
	b, ok := v.(*types.AttributeValueMemberBOOL)
	if !ok {
		f.fail(name, "want a boolean, got %T", v)
		return false
	}
	return b.Value
}

func decodeCheckpoint(item map[string]types.AttributeValue) (Checkpoint, error) {
	f := &fields{m: item}
	cp := Checkpoint{
		Version:      f.num(attrVersion),
		WrittenBy:    f.str(attrWrittenBy),
		End:          f.time(attrEnd),
		Partial:      f.boolean(attrPartial),
		SliceSeconds: f.num(attrSliceSeconds),
		UpdatedAt:    f.time(attrUpdatedAt),
	}
	if v, ok := item[attrIntent]; ok {
		m, isMap := v.(*types.AttributeValueMemberM)
		if !isMap {
			return Checkpoint{}, fmt.Errorf("attribute %s: want a map, got %T", attrIntent, v)
		}
		g := &fields{m: m.Value}
		cp.Intent = &Intent{
			Nonce:          g.str(attrNonce),
			From:           g.time(attrFrom),
			To:             g.time(attrTo),
			Attempts:       int(g.num(attrAttempts)),
			FirstStartedAt: g.time(attrFirstStartedAt),
			StartedAt:      g.time(attrStartedAt),
		}
		if g.err != nil {
			return Checkpoint{}, fmt.Errorf("attribute %s: %w", attrIntent, g.err)
		}
	}
	if f.err != nil {
		return Checkpoint{}, f.err
	}
	if cp.Version < 1 {
		return Checkpoint{}, fmt.Errorf("attribute %s: %d, want 1 or more", attrVersion, cp.Version)
	}
	return cp, nil
}
