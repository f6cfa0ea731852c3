package flowrecord

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"unicode/utf8"
)

// Action is the action field of a record.
type Action uint8

// Actions. ActionNone stands for "-" or a format without the field.
const (
	ActionNone Action = iota
	ActionAccept
	ActionReject
)

func (a Action) String() string {
	switch a {
	case ActionAccept:
		return "ACCEPT"
	case ActionReject:
		return "REJECT"
	}
	return "-"
}

// LogStatus is the log-status field of a record.
type LogStatus uint8

// Log statuses. StatusNone stands for "-" or a format without the field.
const (
	StatusNone LogStatus = iota
	StatusOK
	StatusNoData
	StatusSkipData
)

func (s LogStatus) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusNoData:
		return "NODATA"
	case StatusSkipData:
		return "SKIPDATA"
	}
	return "-"
}

// Record is one parsed flow log record. The commonly used fields are typed;
// every field, typed or not, is reachable as its raw token through Value.
//
// A typed field holds its zero value when the record shows "-" for it or
// its format lacks it; Has tells those apart from a real zero. Strings in a
// Record share memory with the parsed line, and a Parser overwrites the
// Record on each call: copy what must outlive the next line.
type Record struct {
	Version     int
	AccountID   string
	InterfaceID string
	SrcAddr     netip.Addr
	DstAddr     netip.Addr
	SrcPort     int
	DstPort     int
	Protocol    int
	Packets     uint64
	Bytes       uint64
	Start       int64 // Unix seconds
	End         int64 // Unix seconds
	Action      Action
	LogStatus   LogStatus

	VPCID            string
	SubnetID         string
	InstanceID       string
	TCPFlags         int
	PktSrcAddr       netip.Addr
	PktDstAddr       netip.Addr
	FlowDirection    string
	TrafficPath      int
	EncryptionStatus int

	format  *Format
	present uint64 // bit f set when field f has a value other than "-"
	typed   bool   // read from a Row: line holds the string tokens only
	line    string
	ends    [NumFields]int32 // where each token of line ends
	toks    []string         // read from columns: each field's token, in the format's order, instead of line
}

// Format returns the format the record was parsed with.
func (r *Record) Format() *Format { return r.format }

// Has reports whether the record has a value for f: f is in the format and
// the record does not show "-" for it.
func (r *Record) Has(f Field) bool {
	return f.Valid() && r.present&(1<<f) != 0
}

// Value returns the raw token of any field, and false when the record shows
// "-" for it or its format lacks it. Tag fields come back percent-encoded;
// see Decoded. A numeric field of a Record read by Parser.ParseRow comes
// back formatted in decimal, which allocates: it has no token.
func (r *Record) Value(f Field) (string, bool) {
	if !r.Has(f) {
		return "", false
	}
	if r.typed {
		if s, ok := r.typedNumber(f); ok {
			return s, true
		}
	}
	return r.token(int(r.format.pos[f])), true
}

// token returns the i-th token of the line.
func (r *Record) token(i int) string {
	if r.toks != nil {
		return r.toks[i]
	}
	start := 0
	if i > 0 {
		start = int(r.ends[i-1]) + 1
	}
	return r.line[start:r.ends[i]]
}

// ErrAbsent is returned when a field has no value in a record.
var ErrAbsent = errors.New("field has no value")

// Decoded returns a field's value with percent-encoding undone, as the tag
// fields of version 11 need; other fields come back as they are. It
// allocates only when the token holds an escape.
func (r *Record) Decoded(f Field) (string, error) {
	v, ok := r.Value(f)
	if !ok {
		return "", fmt.Errorf("decoding %s: %w", f, ErrAbsent)
	}
	if f.Kind() != KindTag {
		return v, nil
	}
	s, err := percentDecode(v)
	if err != nil {
		return "", fmt.Errorf("decoding %s: %w", f, err)
	}
	return s, nil
}

// ErrBadEscape is returned for a malformed percent-encoding.
var ErrBadEscape = errors.New("malformed percent-encoding")

func percentDecode(s string) (string, error) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", ErrBadEscape
			}
			n++
			i += 2
		}
	}
	if n == 0 {
		if !utf8.ValidString(s) {
			return "", ErrBadEscape
		}
		return s, nil
	}
	b := make([]byte, 0, len(s)-2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			c = byte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		}
		b = append(b, c)
	}
	if !utf8.Valid(b) {
		return "", ErrBadEscape
	}
	return string(b), nil
}

func unhex(c byte) int { return int(hexValues[c]) }

// hexValues maps a byte to its hex digit value, or -1: a table lookup
// spares the address parser a branch per character.
var hexValues = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range 10 {
		t['0'+i] = int8(i)
	}
	for i := range 6 {
		t['a'+i] = int8(10 + i)
		t['A'+i] = int8(10 + i)
	}
	return t
}()

// setString sets the typed string field f, if f is one; the parsers share
// it so that the two agree on where each field goes.
func (r *Record) setString(f Field, s string) {
	switch f {
	case FieldAccountID:
		r.AccountID = s
	case FieldInterfaceID:
		r.InterfaceID = s
	case FieldVPCID:
		r.VPCID = s
	case FieldSubnetID:
		r.SubnetID = s
	case FieldInstanceID:
		r.InstanceID = s
	case FieldFlowDirection:
		r.FlowDirection = s
	}
}

// setNumber sets the numeric field f to v and reports whether v is in the
// field's range; the parsers share it so that they agree on ranges too.
func (r *Record) setNumber(f Field, v uint64) bool {
	switch f {
	case FieldVersion:
		r.Version = int(v)
	case FieldTCPFlags:
		r.TCPFlags = int(v)
	case FieldTrafficPath:
		r.TrafficPath = int(v)
	case FieldEncryptionStatus:
		r.EncryptionStatus = int(v)
	case FieldSrcPort:
		r.SrcPort = int(v)
	case FieldDstPort:
		r.DstPort = int(v)
	case FieldProtocol:
		r.Protocol = int(v)
	case FieldPackets:
		r.Packets = v
	case FieldBytes:
		r.Bytes = v
	case FieldStart:
		r.Start = int64(v)
	case FieldEnd:
		r.End = int64(v)
	}
	return v <= numberLimits[catalogue[f].kind]
}

// numberLimits are the largest values of the numeric kinds.
var numberLimits = [...]uint64{
	KindInt:      math.MaxInt32,
	KindCount:    math.MaxUint64,
	KindTime:     math.MaxInt64,
	KindPort:     math.MaxUint16,
	KindProtocol: math.MaxUint8,
}

// setAddr sets the address field f.
func (r *Record) setAddr(f Field, a netip.Addr) {
	switch f {
	case FieldSrcAddr:
		r.SrcAddr = a
	case FieldDstAddr:
		r.DstAddr = a
	case FieldPktSrcAddr:
		r.PktSrcAddr = a
	case FieldPktDstAddr:
		r.PktDstAddr = a
	}
}

// reset clears the typed fields before a parse; token ends are
// overwritten by position, so they need no clearing.
func (r *Record) reset(f *Format) {
	r.Version = 0
	r.AccountID = ""
	r.InterfaceID = ""
	r.SrcAddr = netip.Addr{}
	r.DstAddr = netip.Addr{}
	r.SrcPort = 0
	r.DstPort = 0
	r.Protocol = 0
	r.Packets = 0
	r.Bytes = 0
	r.Start = 0
	r.End = 0
	r.Action = ActionNone
	r.LogStatus = StatusNone
	r.VPCID = ""
	r.SubnetID = ""
	r.InstanceID = ""
	r.TCPFlags = 0
	r.PktSrcAddr = netip.Addr{}
	r.PktDstAddr = netip.Addr{}
	r.FlowDirection = ""
	r.TrafficPath = 0
	r.EncryptionStatus = 0
	r.format = f
	r.present = 0
	r.typed = false
	r.line = ""
	r.toks = nil
}
