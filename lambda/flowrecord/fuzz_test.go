package flowrecord

import (
	"errors"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The fuzz tests check the fast parsers against slow references built on
// strings.Split, strconv and net/netip: both must accept the same inputs
// and agree on every value.

var fuzzFormats = []string{DefaultFormatString, wideV5Format, allV11Format, "${srcaddr}", "${dstport} ${bytes}"}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
		"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
		"2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
		"", "-", "1.2.3.4", "::ffff:1.2.3.4", "443 18446744073709551615", "70000 1",
		// Runs of spaces, leading and trailing ones, and ID shapes.
		"  2 123456789010  eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK  ",
		"2 unknown eni-0a1b2c3d - - - - - - - 1431280876 1431280934 - NODATA",
		"2 123456789010 eni-1235B8CA123456789 - - - - - - - 1431280876 1431280934 - NODATA",
		"2 12345678901 eni-1235b8ca12345678 - - - - - - - 1431280876 1431280934 - SKIPDATA",
	} {
		f.Add(s)
	}
	parsers := make([]*Parser, len(fuzzFormats))
	for i, s := range fuzzFormats {
		parsers[i] = NewParser(mustFormat(f, s))
	}
	f.Fuzz(func(t *testing.T, line string) {
		agg := NewAggregator(Options{MaxTracked: 16, TopK: 4})
		for _, p := range parsers {
			var r Record
			err := p.Parse(line, &r)
			want, refErr := referenceParse(p.Format(), line)
			if (err == nil) != (refErr == nil) {
				t.Fatalf("format %q, line %q: Parse error %v, reference error %v", p.Format(), line, err, refErr)
			}
			agg.AddLine(p, line)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || err.Error() == "" {
					t.Fatalf("error %v is not a *ParseError", err)
				}
				continue
			}
			checkRecord(t, &r, want)
			// Most lines never reach the general path through Parse: check
			// it on its own too.
			var g Record
			if !parseGeneralOnly(p, line, &g) {
				t.Fatalf("format %q, line %q: general path fails (%v), fast path parses", p.Format(), line, p.fail.toError())
			}
			checkRecord(t, &g, want)
		}
		_ = agg.Summary()
	})
}

// parseGeneralOnly parses line as Parse does but by the general path alone.
func parseGeneralOnly(p *Parser, line string, r *Record) bool {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	line = trimSpaces(line)
	r.reset(p.format)
	p.buf = append([]byte(line), pad[:]...)
	line, ok := p.parseSlow(line, r)
	r.line = line
	return ok
}

// checkRecord compares a parsed record with the reference's, typed fields
// and raw tokens.
func checkRecord(t *testing.T, r, want *Record) {
	t.Helper()
	checkTyped(t, r, want)
	for i, fd := range r.format.fields {
		v, ok := r.Value(fd)
		tok := want.token(i)
		if ok != (tok != "-") || ok && v != tok {
			t.Fatalf("%s: Value = %q, %v; reference token %q", fd, v, ok, tok)
		}
	}
}

// referenceParse is the plain, slow statement of what a valid line is.
func referenceParse(f *Format, line string) (*Record, error) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	// Fields are separated by runs of spaces; spaces may lead and trail.
	toks := strings.FieldsFunc(line, func(c rune) bool { return c == ' ' })
	if len(toks) == 0 {
		return nil, ErrEmptyLine
	}
	if len(toks) != f.Len() {
		return nil, ErrFieldCount
	}
	line = strings.Join(toks, " ")
	r := &Record{format: f, line: line}
	start := 0
	for i, fd := range f.fields {
		tok := toks[i]
		r.ends[i] = int32(start + len(tok))
		start += len(tok) + 1
		if tok == "" {
			return nil, ErrEmptyField
		}
		if tok == "-" {
			continue
		}
		uint := func(max uint64) (uint64, error) {
			if tok[0] < '0' || tok[0] > '9' {
				return 0, ErrSyntax
			}
			v, err := strconv.ParseUint(tok, 10, 64)
			if err != nil || v > max {
				return 0, ErrRange
			}
			return v, nil
		}
		addr := func() (netip.Addr, error) {
			a, err := netip.ParseAddr(tok)
			if err != nil || a.Zone() != "" {
				return netip.Addr{}, ErrSyntax
			}
			return a, nil
		}
		var v uint64
		var err error
		switch fd.Kind() {
		case KindInt:
			v, err = uint(math.MaxInt32)
		case KindPort:
			v, err = uint(math.MaxUint16)
		case KindProtocol:
			v, err = uint(math.MaxUint8)
		case KindCount:
			v, err = uint(math.MaxUint64)
		case KindTime:
			v, err = uint(math.MaxInt64)
		}
		if err != nil {
			return nil, err
		}
		if k := fd.Kind(); (k == KindString || k == KindTag) && !referenceToken(fd, tok) {
			return nil, ErrSyntax
		}
		switch fd {
		case FieldVersion:
			r.Version = int(v)
		case FieldAccountID:
			r.AccountID = tok
		case FieldInterfaceID:
			r.InterfaceID = tok
		case FieldSrcAddr:
			r.SrcAddr, err = addr()
		case FieldDstAddr:
			r.DstAddr, err = addr()
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
		case FieldAction:
			r.Action = map[string]Action{"ACCEPT": ActionAccept, "REJECT": ActionReject}[tok]
			if r.Action == ActionNone {
				err = ErrSyntax
			}
		case FieldLogStatus:
			r.LogStatus = map[string]LogStatus{"OK": StatusOK, "NODATA": StatusNoData, "SKIPDATA": StatusSkipData}[tok]
			if r.LogStatus == StatusNone {
				err = ErrSyntax
			}
		case FieldVPCID:
			r.VPCID = tok
		case FieldSubnetID:
			r.SubnetID = tok
		case FieldInstanceID:
			r.InstanceID = tok
		case FieldTCPFlags:
			r.TCPFlags = int(v)
		case FieldPktSrcAddr:
			r.PktSrcAddr, err = addr()
		case FieldPktDstAddr:
			r.PktDstAddr, err = addr()
		case FieldFlowDirection:
			r.FlowDirection = tok
		case FieldTrafficPath:
			r.TrafficPath = int(v)
		case FieldEncryptionStatus:
			r.EncryptionStatus = int(v)
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// referenceShapes are the shapes of the string fields that name AWS
// resources, as AWS writes them.
var referenceShapes = map[Field]*regexp.Regexp{
	FieldInterfaceID:        regexp.MustCompile(`^eni-([0-9a-f]{8}|[0-9a-f]{17})$`),
	FieldNextHopInterfaceID: regexp.MustCompile(`^eni-([0-9a-f]{8}|[0-9a-f]{17})$`),
	FieldVPCID:              regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`),
	FieldNextHopVPCID:       regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`),
	FieldSubnetID:           regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`),
	FieldNextHopSubnetID:    regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`),
	FieldInstanceID:         regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`),
	FieldAccountID:          regexp.MustCompile(`^([0-9]{12}|unknown)$`),
	FieldAZID:               regexp.MustCompile(`^[a-z0-9-]{1,32}$`),
	FieldNextHopAZID:        regexp.MustCompile(`^[a-z0-9-]{1,32}$`),
}

// referenceToken says whether tok is a valid value of the string or tag
// field fd: an AWS ID of its shape, a tag of at most MaxTagToken bytes, or
// other text of at most MaxTextToken bytes.
func referenceToken(fd Field, tok string) bool {
	if re, ok := referenceShapes[fd]; ok {
		return re.MatchString(tok)
	}
	if fd.Kind() == KindTag {
		return len(tok) <= MaxTagToken
	}
	return len(tok) <= MaxTextToken
}

var formatToken = regexp.MustCompile(`^\$\{([a-z0-9-]+)\}$`)

func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{DefaultFormatString, wideV5Format, allV11Format, "", " ", "${version} ", "${a}", "${version} ${version}", "${version}\t${bytes}", "${${version}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFormat(s)
		// The reference: split on single spaces, every token ${known-name},
		// no name twice.
		valid := s != ""
		seen := map[string]bool{}
		version := 0
		for _, tok := range strings.Split(s, " ") {
			m := formatToken.FindStringSubmatch(tok)
			if m == nil {
				valid = false
				break
			}
			fd, ok := FieldByName(m[1])
			if !ok || seen[m[1]] {
				valid = false
				break
			}
			seen[m[1]] = true
			version = max(version, fd.Version())
		}
		if (err == nil) != valid {
			t.Fatalf("ParseFormat(%q) error %v, reference says valid=%v", s, err, valid)
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > len(s) {
				t.Fatalf("error %#v", err)
			}
			if fe.Token != " " && fe.Token != "" && !strings.Contains(s, fe.Token) {
				t.Fatalf("error names %q, not a token of %q", fe.Token, s)
			}
			return
		}
		if got.String() != s || got.Version() != version || got.Len() != len(seen) {
			t.Fatalf("ParseFormat(%q) = %q, version %d, %d fields", s, got, got.Version(), got.Len())
		}
		again, err := NewFormat(got.Fields()...)
		if err != nil || again.String() != s {
			t.Fatalf("NewFormat round trip: %v, %v", again, err)
		}
	})
}
