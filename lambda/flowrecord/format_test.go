package flowrecord

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestFieldCatalogue(t *testing.T) {
	all := AllFields()
	if len(all) != NumFields || NumFields != 54 {
		t.Fatalf("catalogue has %d fields (NumFields %d), want 54", len(all), NumFields)
	}
	perVersion := map[int]int{}
	seen := map[string]bool{}
	prev := 0
	for _, f := range all {
		name := f.Name()
		if seen[name] {
			t.Errorf("field name %q appears twice", name)
		}
		seen[name] = true
		if got, ok := FieldByName(name); !ok || got != f {
			t.Errorf("FieldByName(%q) = %v, %v; want %v", name, got, ok, f)
		}
		if f.Version() < prev {
			t.Errorf("%s: version %d after version %d: the catalogue must follow the AWS table", name, f.Version(), prev)
		}
		prev = f.Version()
		perVersion[f.Version()]++
	}
	// Fields added by each version, as the AWS field table lists them.
	want := map[int]int{2: 14, 3: 7, 4: 4, 5: 4, 7: 10, 8: 1, 9: 1, 10: 1, 11: 12}
	for v, n := range want {
		if perVersion[v] != n {
			t.Errorf("version %d adds %d fields, want %d", v, perVersion[v], n)
		}
	}
	if _, ok := FieldByName("Version"); ok {
		t.Error("field names are case-sensitive")
	}
	if Field(0).Valid() || Field(200).Name() != "" || Field(200).Version() != 0 {
		t.Error("invalid fields must report nothing")
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		version int
		err     error
		token   string
	}{
		{name: "default", format: DefaultFormatString, version: 2},
		{name: "one field", format: "${srcaddr}", version: 2},
		{name: "any order", format: "${log-status} ${version}", version: 2},
		{name: "v3", format: "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}", version: 3},
		{name: "v4", format: "${version} ${region} ${az-id} ${sublocation-type} ${sublocation-id}", version: 4},
		{name: "v5", format: wideV5Format, version: 5},
		{name: "v7", format: "${ecs-cluster-name} ${srcaddr}", version: 7},
		{name: "v8", format: "${reject-reason}", version: 8},
		{name: "v9", format: "${resource-id} ${bytes}", version: 9},
		{name: "v10", format: "${encryption-status}", version: 10},
		{name: "v11 tags", format: "${instance-tag} ${instance-tag-2} ${interface-tag} ${interface-tag-2} ${asg-tag} ${asg-tag-2}", version: 11},
		{name: "v11 next hop", format: "${interface-type} ${next-hop-interface-id} ${next-hop-subnet-id} ${next-hop-az-id} ${next-hop-vpc-id} ${next-hop-interface-type}", version: 11},

		{name: "empty", format: "", err: ErrEmptyFormat},
		{name: "unknown field", format: "${version} ${source-address}", err: ErrUnknownField, token: "${source-address}"},
		{name: "transit gateway field", format: "${tgw-id}", err: ErrUnknownField, token: "${tgw-id}"},
		{name: "duplicate", format: "${srcaddr} ${dstaddr} ${srcaddr}", err: ErrDuplicateField, token: "${srcaddr}"},
		{name: "trailing space", format: "${version} ", err: ErrBadSeparator, token: " "},
		{name: "leading space", format: " ${version}", err: ErrBadSeparator, token: " "},
		{name: "double space", format: "${version}  ${bytes}", err: ErrBadSeparator, token: " "},
		{name: "only a space", format: " ", err: ErrBadSeparator, token: " "},
		{name: "tab", format: "${version}\t${bytes}", err: ErrBadSeparator, token: "${version}\t${bytes}"},
		{name: "comma", format: "${version},${bytes}", err: ErrBadToken, token: "${version},${bytes}"},
		{name: "no braces", format: "version", err: ErrBadToken, token: "version"},
		{name: "no dollar", format: "{version}", err: ErrBadToken, token: "{version}"},
		{name: "unclosed", format: "${version", err: ErrBadToken, token: "${version"},
		{name: "empty name", format: "${}", err: ErrBadToken, token: "${}"},
		{name: "nested", format: "${${version}}", err: ErrBadToken, token: "${${version}}"},
		{name: "upper case", format: "${VERSION}", err: ErrUnknownField, token: "${VERSION}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFormat(tt.format)
			if tt.err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) || !errors.Is(err, tt.err) {
					t.Fatalf("ParseFormat(%q) error = %v, want a *FormatError wrapping %v", tt.format, err, tt.err)
				}
				if fe.Token != tt.token {
					t.Errorf("error names token %q, want %q", fe.Token, tt.token)
				}
				if tt.token != "" && !strings.Contains(err.Error(), strconv.Quote(tt.token)) {
					t.Errorf("message %q does not name the token", err)
				}
				if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
					t.Errorf("message %q should start in lower case", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFormat(%q): %v", tt.format, err)
			}
			if f.String() != tt.format {
				t.Errorf("String() = %q, want %q", f.String(), tt.format)
			}
			if f.Version() != tt.version {
				t.Errorf("Version() = %d, want %d", f.Version(), tt.version)
			}
			again, err := NewFormat(f.Fields()...)
			if err != nil || again.String() != tt.format {
				t.Errorf("NewFormat(Fields()) = %v, %v; want %q", again, err, tt.format)
			}
		})
	}
}

func TestFormatOffsets(t *testing.T) {
	_, err := ParseFormat("${version} ${nope}")
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != 11 {
		t.Fatalf("error %v, want offset 11", err)
	}
}

func TestDefaultFormat(t *testing.T) {
	f := DefaultFormat()
	want := []Field{FieldVersion, FieldAccountID, FieldInterfaceID, FieldSrcAddr, FieldDstAddr, FieldSrcPort, FieldDstPort, FieldProtocol, FieldPackets, FieldBytes, FieldStart, FieldEnd, FieldAction, FieldLogStatus}
	got := f.Fields()
	if len(got) != len(want) {
		t.Fatalf("default format has %d fields, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %s, want %s", i, got[i], want[i])
		}
		if j, ok := f.Index(want[i]); !ok || j != i {
			t.Errorf("Index(%s) = %d, %v", want[i], j, ok)
		}
	}
	if f.Has(FieldVPCID) {
		t.Error("default format has no vpc-id")
	}
	got[0] = FieldBytes
	if f.Fields()[0] != FieldVersion {
		t.Error("Fields must return a copy")
	}
	if _, err := NewFormat(FieldVersion, Field(0)); !errors.Is(err, ErrUnknownField) {
		t.Errorf("NewFormat with an invalid field: %v", err)
	}
}
