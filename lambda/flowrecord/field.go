package flowrecord

// Field is one field of a VPC flow log record, as named in a log format
// (${interface-id} is FieldInterfaceID). The zero Field is not a field.
type Field uint8

// The fields of VPC flow log records, versions 2 to 11, in the order of the
// AWS field table. Version 6 added only transit gateway fields, which VPC
// flow logs do not carry.
const (
	fieldNone Field = iota

	// Version 2: the default format, in this order.
	FieldVersion
	FieldAccountID
	FieldInterfaceID
	FieldSrcAddr
	FieldDstAddr
	FieldSrcPort
	FieldDstPort
	FieldProtocol
	FieldPackets
	FieldBytes
	FieldStart
	FieldEnd
	FieldAction
	FieldLogStatus

	// Version 3.
	FieldVPCID
	FieldSubnetID
	FieldInstanceID
	FieldTCPFlags
	FieldType
	FieldPktSrcAddr
	FieldPktDstAddr

	// Version 4.
	FieldRegion
	FieldAZID
	FieldSublocationType
	FieldSublocationID

	// Version 5.
	FieldPktSrcAWSService
	FieldPktDstAWSService
	FieldFlowDirection
	FieldTrafficPath

	// Version 7: Amazon ECS.
	FieldECSClusterARN
	FieldECSClusterName
	FieldECSContainerInstanceARN
	FieldECSContainerInstanceID
	FieldECSContainerID
	FieldECSSecondContainerID
	FieldECSServiceName
	FieldECSTaskDefinitionARN
	FieldECSTaskARN
	FieldECSTaskID

	// Version 8.
	FieldRejectReason

	// Version 9.
	FieldResourceID

	// Version 10.
	FieldEncryptionStatus

	// Version 11: EC2 tags (percent-encoded UTF-8) and next-hop metadata.
	FieldInstanceTag
	FieldInstanceTag2
	FieldInterfaceTag
	FieldInterfaceTag2
	FieldASGTag
	FieldASGTag2
	FieldInterfaceType
	FieldNextHopInterfaceID
	FieldNextHopSubnetID
	FieldNextHopAZID
	FieldNextHopVPCID
	FieldNextHopInterfaceType

	fieldEnd
)

// NumFields is the number of fields in the catalogue.
const NumFields = int(fieldEnd) - 1

// Kind says how a field's value is typed once parsed.
type Kind uint8

// Field kinds.
const (
	KindString    Kind = iota // kept as the raw token
	KindInt                   // a non-negative decimal integer
	KindCount                 // a non-negative decimal counter that may exceed 32 bits
	KindTime                  // Unix seconds
	KindPort                  // 0 to 65535
	KindProtocol              // an IANA protocol number, 0 to 255
	KindAddr                  // an IPv4 or IPv6 address
	KindAction                // ACCEPT or REJECT
	KindLogStatus             // OK, NODATA or SKIPDATA
	KindTag                   // percent-encoded UTF-8, decoded only on request
)

var kindNames = [...]string{
	KindString:    "string",
	KindInt:       "int",
	KindCount:     "count",
	KindTime:      "time",
	KindPort:      "port",
	KindProtocol:  "protocol",
	KindAddr:      "address",
	KindAction:    "action",
	KindLogStatus: "log-status",
	KindTag:       "tag",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

type fieldInfo struct {
	name    string
	version int
	kind    Kind
}

var catalogue = [fieldEnd]fieldInfo{
	FieldVersion:     {"version", 2, KindInt},
	FieldAccountID:   {"account-id", 2, KindString},
	FieldInterfaceID: {"interface-id", 2, KindString},
	FieldSrcAddr:     {"srcaddr", 2, KindAddr},
	FieldDstAddr:     {"dstaddr", 2, KindAddr},
	FieldSrcPort:     {"srcport", 2, KindPort},
	FieldDstPort:     {"dstport", 2, KindPort},
	FieldProtocol:    {"protocol", 2, KindProtocol},
	FieldPackets:     {"packets", 2, KindCount},
	FieldBytes:       {"bytes", 2, KindCount},
	FieldStart:       {"start", 2, KindTime},
	FieldEnd:         {"end", 2, KindTime},
	FieldAction:      {"action", 2, KindAction},
	FieldLogStatus:   {"log-status", 2, KindLogStatus},

	FieldVPCID:      {"vpc-id", 3, KindString},
	FieldSubnetID:   {"subnet-id", 3, KindString},
	FieldInstanceID: {"instance-id", 3, KindString},
	FieldTCPFlags:   {"tcp-flags", 3, KindInt},
	FieldType:       {"type", 3, KindString},
	FieldPktSrcAddr: {"pkt-srcaddr", 3, KindAddr},
	FieldPktDstAddr: {"pkt-dstaddr", 3, KindAddr},

	FieldRegion:          {"region", 4, KindString},
	FieldAZID:            {"az-id", 4, KindString},
	FieldSublocationType: {"sublocation-type", 4, KindString},
	FieldSublocationID:   {"sublocation-id", 4, KindString},

	FieldPktSrcAWSService: {"pkt-src-aws-service", 5, KindString},
	FieldPktDstAWSService: {"pkt-dst-aws-service", 5, KindString},
	FieldFlowDirection:    {"flow-direction", 5, KindString},
	FieldTrafficPath:      {"traffic-path", 5, KindInt},

	FieldECSClusterARN:           {"ecs-cluster-arn", 7, KindString},
	FieldECSClusterName:          {"ecs-cluster-name", 7, KindString},
	FieldECSContainerInstanceARN: {"ecs-container-instance-arn", 7, KindString},
	FieldECSContainerInstanceID:  {"ecs-container-instance-id", 7, KindString},
	FieldECSContainerID:          {"ecs-container-id", 7, KindString},
	FieldECSSecondContainerID:    {"ecs-second-container-id", 7, KindString},
	FieldECSServiceName:          {"ecs-service-name", 7, KindString},
	FieldECSTaskDefinitionARN:    {"ecs-task-definition-arn", 7, KindString},
	FieldECSTaskARN:              {"ecs-task-arn", 7, KindString},
	FieldECSTaskID:               {"ecs-task-id", 7, KindString},

	FieldRejectReason: {"reject-reason", 8, KindString},

	FieldResourceID: {"resource-id", 9, KindString},

	FieldEncryptionStatus: {"encryption-status", 10, KindInt},

	FieldInstanceTag:          {"instance-tag", 11, KindTag},
	FieldInstanceTag2:         {"instance-tag-2", 11, KindTag},
	FieldInterfaceTag:         {"interface-tag", 11, KindTag},
	FieldInterfaceTag2:        {"interface-tag-2", 11, KindTag},
	FieldASGTag:               {"asg-tag", 11, KindTag},
	FieldASGTag2:              {"asg-tag-2", 11, KindTag},
	FieldInterfaceType:        {"interface-type", 11, KindString},
	FieldNextHopInterfaceID:   {"next-hop-interface-id", 11, KindString},
	FieldNextHopSubnetID:      {"next-hop-subnet-id", 11, KindString},
	FieldNextHopAZID:          {"next-hop-az-id", 11, KindString},
	FieldNextHopVPCID:         {"next-hop-vpc-id", 11, KindString},
	FieldNextHopInterfaceType: {"next-hop-interface-type", 11, KindString},
}

var fieldsByName = func() map[string]Field {
	m := make(map[string]Field, NumFields)
	for f := Field(1); f < fieldEnd; f++ {
		m[catalogue[f].name] = f
	}
	return m
}()

// FieldByName returns the field named name, as written inside ${...}.
func FieldByName(name string) (Field, bool) {
	f, ok := fieldsByName[name]
	return f, ok
}

// AllFields returns every field of the catalogue in the order of the AWS
// field table.
func AllFields() []Field {
	fs := make([]Field, 0, NumFields)
	for f := Field(1); f < fieldEnd; f++ {
		fs = append(fs, f)
	}
	return fs
}

// Valid reports whether f is a field of the catalogue.
func (f Field) Valid() bool { return f > fieldNone && f < fieldEnd }

// Name returns the field's name as written in a log format, such as
// "interface-id", or "" for an invalid field.
func (f Field) Name() string {
	if !f.Valid() {
		return ""
	}
	return catalogue[f].name
}

// Version returns the flow log version that introduced the field, or 0 for
// an invalid field.
func (f Field) Version() int {
	if !f.Valid() {
		return 0
	}
	return catalogue[f].version
}

// Kind returns how the field's value is typed.
func (f Field) Kind() Kind {
	if !f.Valid() {
		return KindString
	}
	return catalogue[f].kind
}

// String returns the field's name, or a placeholder for an invalid field.
func (f Field) String() string {
	if !f.Valid() {
		return "field(invalid)"
	}
	return catalogue[f].name
}
