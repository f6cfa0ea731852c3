package flowrecord

// Whoever sends traffic, tags a resource or names an ECS task chooses some
// of what a flow log line holds, and a log group can be written by more
// than AWS: no token is trusted for its shape. The string fields that name
// AWS resources must look like the IDs AWS writes, since they become map
// keys and appear in digests; the other string fields are capped in length.
// A token that fails makes the line malformed, in both parsing paths.

// Caps on the tokens of string fields that have no fixed shape.
const (
	// MaxTextToken bounds a string field without a fixed shape (ECS names
	// and ARNs, region, type, flow-direction, service names,
	// reject-reason, resource-id, ...): ECS names are at most 255
	// characters and the longest ARN they appear in about 340 bytes. Their
	// bytes are not checked: nothing here keeps or renders them, and what
	// renders a Record's text must escape it.
	MaxTextToken = 1024
	// MaxTagToken bounds a percent-encoded tag field of version 11: a tag
	// key of 128 and a value of 256 characters, each at most 4 bytes of
	// UTF-8 and 3 bytes per byte once percent-encoded, fit in 4,609 bytes.
	MaxTagToken = 5120
	// maxNameToken bounds an Availability Zone ID, such as "apse2-az3" or
	// "usw2-lax1-az1".
	maxNameToken = 32
)

// shape is how a string field's token is checked.
type shape uint8

const (
	shapeText    shape = iota // any bytes, at most MaxTextToken
	shapeTag                  // any bytes, at most MaxTagToken
	shapeID                   // idPrefixes[f] and 8 or 17 lower-case hex digits
	shapeAccount              // 12 digits or "unknown"
	shapeName                 // lower-case letters, digits and '-', at most maxNameToken
)

var shapes = [fieldEnd]shape{
	FieldAccountID:          shapeAccount,
	FieldInterfaceID:        shapeID,
	FieldVPCID:              shapeID,
	FieldSubnetID:           shapeID,
	FieldInstanceID:         shapeID,
	FieldAZID:               shapeName,
	FieldInstanceTag:        shapeTag,
	FieldInstanceTag2:       shapeTag,
	FieldInterfaceTag:       shapeTag,
	FieldInterfaceTag2:      shapeTag,
	FieldASGTag:             shapeTag,
	FieldASGTag2:            shapeTag,
	FieldNextHopInterfaceID: shapeID,
	FieldNextHopSubnetID:    shapeID,
	FieldNextHopAZID:        shapeName,
	FieldNextHopVPCID:       shapeID,
}

var idPrefixes = [fieldEnd]string{
	FieldInterfaceID:        "eni-",
	FieldVPCID:              "vpc-",
	FieldSubnetID:           "subnet-",
	FieldInstanceID:         "i-",
	FieldNextHopInterfaceID: "eni-",
	FieldNextHopSubnetID:    "subnet-",
	FieldNextHopVPCID:       "vpc-",
}

// checkToken reports whether tok, not "-", is a valid value of the string
// or tag field f: nil, ErrSyntax or ErrTooLong.
func checkToken(f Field, tok string) error {
	switch shapes[f] {
	case shapeID:
		return checkID(tok, idPrefixes[f])
	case shapeAccount:
		return checkAccount(tok)
	case shapeName:
		return checkName(tok)
	case shapeTag:
		if len(tok) > MaxTagToken { // Decoded checks the escapes when asked
			return ErrTooLong
		}
	default:
		if len(tok) > MaxTextToken {
			return ErrTooLong
		}
	}
	return nil
}

// checkID accepts prefix followed by 8 (the older form) or 17 lower-case
// hex digits, as AWS writes resource IDs.
func checkID(tok, prefix string) error {
	n := len(tok) - len(prefix)
	if (n != 8 && n != 17) || tok[:len(prefix)] != prefix {
		return ErrSyntax
	}
	for i := len(prefix); i < len(tok); i++ {
		if !lowerHex[tok[i]] {
			return ErrSyntax
		}
	}
	return nil
}

// checkAccount accepts a 12-digit account ID, or "unknown", which AWS
// writes for some interfaces that its services create (VPC endpoints,
// Network Load Balancers).
func checkAccount(tok string) error {
	if len(tok) != 12 {
		if tok == "unknown" {
			return nil
		}
		return ErrSyntax
	}
	for i := 0; i < len(tok); i++ {
		if tok[i]-'0' > 9 {
			return ErrSyntax
		}
	}
	return nil
}

// checkName accepts lower-case letters, digits and '-', as Availability
// Zone IDs are written.
func checkName(tok string) error {
	if len(tok) > maxNameToken {
		return ErrTooLong
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; !lowerHex[c] && (c < 'g' || c > 'z') && c != '-' {
			return ErrSyntax
		}
	}
	return nil
}

// lowerHex marks the digits and the lower-case letters a to f.
var lowerHex = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = true
	}
	return t
}()
