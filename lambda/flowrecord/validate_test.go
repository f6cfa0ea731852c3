package flowrecord

import (
	"errors"
	"strings"
	"testing"
)

// TestParseChecksStringFields checks the shapes and caps of string fields
// other than the default format's: a line with a field past its cap or
// out of shape is malformed, with an error naming the field, in both
// parsing paths.
func TestParseChecksStringFields(t *testing.T) {
	f := mustFormat(t, "${account-id} ${interface-id} ${ecs-cluster-arn} ${instance-tag} ${az-id} ${next-hop-vpc-id}")
	const (
		eni = "eni-0a1b2c3d"
		arn = "arn:aws:ecs:us-east-1:123456789012:cluster/payments"
	)
	line := func(account, cluster, tag, az, vpc string) string {
		return strings.Join([]string{account, eni, cluster, tag, az, vpc}, " ")
	}
	for _, c := range []struct {
		name  string
		line  string
		err   error
		field Field
	}{
		{"all valid", line("123456789012", arn, "team%3Dweb", "use1-az4", "vpc-0a1b2c3d4e5f60718"), nil, 0},
		{"account unknown", line("unknown", arn, "-", "usw2-lax1-az1", "-"), nil, 0},
		{"text at its cap", line("123456789012", strings.Repeat("a", MaxTextToken), "-", "-", "-"), nil, 0},
		{"text past its cap", line("123456789012", strings.Repeat("a", MaxTextToken+1), "-", "-", "-"), ErrTooLong, FieldECSClusterARN},
		{"tag at its cap", line("123456789012", "-", strings.Repeat("%41", MaxTagToken/3), "-", "-"), nil, 0},
		{"tag past its cap", line("123456789012", "-", strings.Repeat("b", MaxTagToken+1), "-", "-"), ErrTooLong, FieldInstanceTag},
		{"AZ ID upper case", line("123456789012", "-", "-", "USE1-AZ4", "-"), ErrSyntax, FieldAZID},
		{"AZ ID too long", line("123456789012", "-", "-", strings.Repeat("a", 33), "-"), ErrTooLong, FieldAZID},
		{"next-hop VPC ID of an interface", line("123456789012", "-", "-", "-", "eni-0a1b2c3d"), ErrSyntax, FieldNextHopVPCID},
		{"account ID spelled out", line("Unknown", "-", "-", "-", "-"), ErrSyntax, FieldAccountID},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewParser(f)
			var r, g Record
			err := p.Parse(c.line, &r)
			var pe *ParseError
			switch {
			case c.err == nil && err != nil:
				t.Fatalf("Parse: %v", err)
			case c.err != nil && (!errors.As(err, &pe) || !errors.Is(err, c.err) || pe.Field != c.field):
				t.Fatalf("Parse error %v, want %v on %s", err, c.err, c.field)
			case c.err != nil && (len(err.Error()) > 200 || !strings.Contains(err.Error(), c.field.Name())):
				t.Errorf("error %q should name the field and stay short", err)
			}
			if parseGeneralOnly(p, c.line, &g) != (c.err == nil) {
				t.Errorf("the general path disagrees: %v", p.fail.toError())
			}
		})
	}
}

// TestShapesFollowTheCatalogue checks the shape table against the field
// kinds: every tag field is capped as a tag, only string fields have
// another shape, and every ID shape has its prefix.
func TestShapesFollowTheCatalogue(t *testing.T) {
	for _, f := range AllFields() {
		sh, k := shapes[f], f.Kind()
		switch {
		case k == KindTag && sh != shapeTag, k != KindTag && sh == shapeTag:
			t.Errorf("%s (%s) has shape %d", f, k, sh)
		case k != KindString && k != KindTag && sh != shapeText:
			t.Errorf("%s is a %s field with a string shape %d", f, k, sh)
		case (sh == shapeID) != (idPrefixes[f] != ""):
			t.Errorf("%s: shape %d, prefix %q", f, sh, idPrefixes[f])
		}
	}
}
