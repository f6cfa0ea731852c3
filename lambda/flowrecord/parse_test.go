package flowrecord

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// v3Format is the custom format of the TCP flag sequence example in the
// AWS flow log record examples.
const v3Format = "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}"

// wideV5Format is a custom format with every field of versions 2 to 5.
const wideV5Format = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}"

func mustFormat(t testing.TB, s string) *Format {
	t.Helper()
	f, err := ParseFormat(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The custom formats of the AWS example records.
const (
	natFormat         = "${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}"
	transitFormat     = "${version} ${interface-id} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${action} ${log-status}"
	trafficPathFormat = "${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type} ${packets} ${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}"
)

// tcpFlagRecord is the parse of a record of the TCP flag sequence example,
// whose records differ only in these values.
func tcpFlagRecord(src, dst string, srcPort, dstPort int, bytes, packets uint64, start, end int64, flags int) Record {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	return Record{Version: 3, VPCID: "vpc-abcdefab012345678", SubnetID: "subnet-aaaaaaaa012345678", InstanceID: "i-01234567890123456",
		InterfaceID: "eni-1235b8ca123456789", AccountID: "123456789010", SrcAddr: s, DstAddr: d,
		SrcPort: srcPort, DstPort: dstPort, PktSrcAddr: s, PktDstAddr: d, Protocol: 6,
		Bytes: bytes, Packets: packets, Start: start, End: end, Action: ActionAccept, TCPFlags: flags, LogStatus: StatusOK}
}

// transitRecord is the parse of a record of the transit gateway example.
func transitRecord(eni, subnet, instance, src, dst string, srcPort, dstPort, flags int, pktSrc, pktDst string) Record {
	addr := netip.MustParseAddr
	return Record{Version: 3, InterfaceID: eni, AccountID: "123456789010", VPCID: "vpc-abcdefab012345678", SubnetID: subnet,
		InstanceID: instance, SrcAddr: addr(src), DstAddr: addr(dst), SrcPort: srcPort, DstPort: dstPort, Protocol: 6,
		TCPFlags: flags, PktSrcAddr: addr(pktSrc), PktDstAddr: addr(pktDst), Action: ActionAccept, LogStatus: StatusOK}
}

// TestParseAWSExamples parses every example record of the Amazon VPC User
// Guide's "Flow log record examples" page
// (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html:
// accepted and rejected traffic, no data and skipped records, security group
// and network ACL rules, IPv6, the TCP flag sequence, traffic through a NAT
// gateway and through a transit gateway, service name, traffic path and
// flow direction), each with the format the page gives for it, then records
// of version 4, 5 and 10 custom formats written in the same style, and
// checks each typed field. One of AWS's own TCP flag records has two spaces
// between two fields, which the parser must accept; the page follows two NAT
// gateway records with a "#..." comment, which is prose, not part of them.
func TestParseAWSExamples(t *testing.T) {
	addr := netip.MustParseAddr
	tests := []struct {
		name   string
		format string
		line   string
		want   Record
		absent []Field
	}{
		{
			name: "accepted SSH",
			line: "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
			want: Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789",
				SrcAddr: addr("172.31.16.139"), DstAddr: addr("172.31.16.21"), SrcPort: 20641, DstPort: 22, Protocol: 6,
				Packets: 20, Bytes: 4249, Start: 1418530010, End: 1418530070, Action: ActionAccept, LogStatus: StatusOK},
		},
		{
			name: "rejected RDP",
			line: "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
			want: Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789",
				SrcAddr: addr("172.31.9.69"), DstAddr: addr("172.31.9.12"), SrcPort: 49761, DstPort: 3389, Protocol: 6,
				Packets: 20, Bytes: 4249, Start: 1418530010, End: 1418530070, Action: ActionReject, LogStatus: StatusOK},
		},
		{
			name: "no data",
			line: "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
			want: Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789",
				Start: 1431280876, End: 1431280934, LogStatus: StatusNoData},
			absent: []Field{FieldSrcAddr, FieldDstAddr, FieldSrcPort, FieldDstPort, FieldProtocol, FieldPackets, FieldBytes, FieldAction},
		},
		{
			name: "skipped records",
			line: "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
			want: Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-11111111aaaaaaaaa",
				Start: 1431280876, End: 1431280934, LogStatus: StatusSkipData},
			absent: []Field{FieldSrcAddr, FieldAction},
		},
		{
			name: "ICMP accepted",
			line: "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
			want: Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789",
				SrcAddr: addr("203.0.113.12"), DstAddr: addr("172.31.16.139"), Protocol: 1,
				Packets: 4, Bytes: 336, Start: 1432917027, End: 1432917142, Action: ActionAccept, LogStatus: StatusOK},
		},
		{
			name: "ICMP response rejected",
			line: "2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK",
			want: Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789",
				SrcAddr: addr("172.31.16.139"), DstAddr: addr("203.0.113.12"), Protocol: 1,
				Packets: 4, Bytes: 336, Start: 1432917094, End: 1432917142, Action: ActionReject, LogStatus: StatusOK},
		},
		{
			name: "IPv6",
			line: "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
			want: Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789",
				SrcAddr: addr("2001:db8:1234:a100:8d6e:3477:df66:f105"), DstAddr: addr("2001:db8:1234:a102:3304:8879:34cf:4071"),
				SrcPort: 34892, DstPort: 22, Protocol: 6, Packets: 54, Bytes: 8855, Start: 1477913708, End: 1477913820,
				Action: ActionAccept, LogStatus: StatusOK},
		},
		{
			name:   "v3 TCP flag sequence, SYN",
			format: v3Format,
			line:   "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK",
			want: Record{Version: 3, VPCID: "vpc-abcdefab012345678", SubnetID: "subnet-aaaaaaaa012345678", InstanceID: "i-01234567890123456",
				InterfaceID: "eni-1235b8ca123456789", AccountID: "123456789010", SrcAddr: addr("52.213.180.42"), DstAddr: addr("10.0.0.62"),
				SrcPort: 43416, DstPort: 5001, PktSrcAddr: addr("52.213.180.42"), PktDstAddr: addr("10.0.0.62"), Protocol: 6,
				Bytes: 568, Packets: 8, Start: 1566848875, End: 1566848933, Action: ActionAccept, TCPFlags: 2, LogStatus: StatusOK},
		},
		{
			name:   "v3 TCP flag sequence, SYN-ACK",
			format: v3Format,
			line:   "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848933 ACCEPT 18 OK",
			want: Record{Version: 3, VPCID: "vpc-abcdefab012345678", SubnetID: "subnet-aaaaaaaa012345678", InstanceID: "i-01234567890123456",
				InterfaceID: "eni-1235b8ca123456789", AccountID: "123456789010", SrcAddr: addr("10.0.0.62"), DstAddr: addr("52.213.180.42"),
				SrcPort: 5001, DstPort: 43416, PktSrcAddr: addr("10.0.0.62"), PktDstAddr: addr("52.213.180.42"), Protocol: 6,
				Bytes: 376, Packets: 7, Start: 1566848875, End: 1566848933, Action: ActionAccept, TCPFlags: 18, LogStatus: StatusOK},
		},
		{
			name:   "v3 TCP flag sequence, second SYN",
			format: v3Format,
			line:   "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 100701 70 1566848875 1566848933 ACCEPT 2 OK",
			want:   tcpFlagRecord("52.213.180.42", "10.0.0.62", 43418, 5001, 100701, 70, 1566848875, 1566848933, 2),
		},
		{
			name:   "v3 TCP flag sequence, second SYN-ACK",
			format: v3Format,
			line:   "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 632 12 1566848875 1566848933 ACCEPT 18 OK",
			want:   tcpFlagRecord("10.0.0.62", "52.213.180.42", 5001, 43418, 632, 12, 1566848875, 1566848933, 18),
		},
		{
			name:   "v3 TCP flag sequence, FIN from the server",
			format: v3Format,
			line:   "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 63388 1219 1566848933 1566849113 ACCEPT 1 OK",
			want:   tcpFlagRecord("10.0.0.62", "52.213.180.42", 5001, 43418, 63388, 1219, 1566848933, 1566849113, 1),
		},
		{
			name:   "v3 TCP flag sequence, FIN from the client",
			format: v3Format,
			line:   "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 23294588 15774 1566848933 1566849113 ACCEPT 1 OK",
			want:   tcpFlagRecord("52.213.180.42", "10.0.0.62", 43418, 5001, 23294588, 15774, 1566848933, 1566849113, 1),
		},
		{
			name:   "v3 TCP flag sequence, SYN and FIN in one window",
			format: v3Format,
			line:   "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43638 5001 52.213.180.42 10.0.0.62 6 1260 17 1566933133 1566933193 ACCEPT 3 OK",
			want:   tcpFlagRecord("52.213.180.42", "10.0.0.62", 43638, 5001, 1260, 17, 1566933133, 1566933193, 3),
		},
		{
			name:   "v3 TCP flag sequence, SYN-ACK and FIN, two spaces as AWS prints it",
			format: v3Format,
			line:   "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638  10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK",
			want:   tcpFlagRecord("10.0.0.62", "52.213.180.42", 5001, 43638, 967, 14, 1566933133, 1566933193, 19),
		},
		{
			name:   "v3 NAT gateway, instance to gateway",
			format: natFormat,
			line:   "- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5",
			want: Record{InterfaceID: "eni-1235b8ca123456789", SrcAddr: addr("10.0.1.5"), DstAddr: addr("10.0.0.220"),
				PktSrcAddr: addr("10.0.1.5"), PktDstAddr: addr("203.0.113.5")},
			absent: []Field{FieldInstanceID, FieldVersion, FieldBytes},
		},
		{
			name:   "v3 NAT gateway, gateway to host",
			format: natFormat,
			line:   "- eni-1235b8ca123456789 10.0.0.220 203.0.113.5 10.0.0.220 203.0.113.5",
			want: Record{InterfaceID: "eni-1235b8ca123456789", SrcAddr: addr("10.0.0.220"), DstAddr: addr("203.0.113.5"),
				PktSrcAddr: addr("10.0.0.220"), PktDstAddr: addr("203.0.113.5")},
			absent: []Field{FieldInstanceID},
		},
		{
			name:   "v3 NAT gateway, host to gateway",
			format: natFormat,
			line:   "- eni-1235b8ca123456789 203.0.113.5 10.0.0.220 203.0.113.5 10.0.0.220",
			want: Record{InterfaceID: "eni-1235b8ca123456789", SrcAddr: addr("203.0.113.5"), DstAddr: addr("10.0.0.220"),
				PktSrcAddr: addr("203.0.113.5"), PktDstAddr: addr("10.0.0.220")},
			absent: []Field{FieldInstanceID},
		},
		{
			name:   "v3 NAT gateway, gateway to instance",
			format: natFormat,
			line:   "- eni-1235b8ca123456789 10.0.0.220 10.0.1.5 203.0.113.5 10.0.1.5",
			want: Record{InterfaceID: "eni-1235b8ca123456789", SrcAddr: addr("10.0.0.220"), DstAddr: addr("10.0.1.5"),
				PktSrcAddr: addr("203.0.113.5"), PktDstAddr: addr("10.0.1.5")},
			absent: []Field{FieldInstanceID},
		},
		{
			name:   "v3 NAT gateway, the instance's interface, outbound",
			format: natFormat,
			line:   "i-01234567890123456 eni-1111aaaa2222bbbb3 10.0.1.5 203.0.113.5 10.0.1.5 203.0.113.5",
			want: Record{InstanceID: "i-01234567890123456", InterfaceID: "eni-1111aaaa2222bbbb3", SrcAddr: addr("10.0.1.5"),
				DstAddr: addr("203.0.113.5"), PktSrcAddr: addr("10.0.1.5"), PktDstAddr: addr("203.0.113.5")},
		},
		{
			name:   "v3 NAT gateway, the instance's interface, response",
			format: natFormat,
			line:   "i-01234567890123456 eni-1111aaaa2222bbbb3 203.0.113.5 10.0.1.5 203.0.113.5 10.0.1.5",
			want: Record{InstanceID: "i-01234567890123456", InterfaceID: "eni-1111aaaa2222bbbb3", SrcAddr: addr("203.0.113.5"),
				DstAddr: addr("10.0.1.5"), PktSrcAddr: addr("203.0.113.5"), PktDstAddr: addr("10.0.1.5")},
		},
		{
			name:   "v3 transit gateway, request at the server",
			format: transitFormat,
			line:   "3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb i-01234567890123456 10.20.33.164 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK",
			want:   transitRecord("eni-33333333333333333", "subnet-22222222bbbbbbbbb", "i-01234567890123456", "10.20.33.164", "10.40.2.236", 39812, 80, 3, "10.20.33.164", "10.40.2.236"),
		},
		{
			name:   "v3 transit gateway, response from the server",
			format: transitFormat,
			line:   "3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb i-01234567890123456 10.40.2.236 10.20.33.164 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK",
			want:   transitRecord("eni-33333333333333333", "subnet-22222222bbbbbbbbb", "i-01234567890123456", "10.40.2.236", "10.20.33.164", 80, 39812, 19, "10.40.2.236", "10.20.33.164"),
		},
		{
			name:   "v3 transit gateway, request on the gateway's interface",
			format: transitFormat,
			line:   "3 eni-11111111111111111 123456789010 vpc-abcdefab012345678 subnet-11111111aaaaaaaaa - 10.40.1.175 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK",
			want:   transitRecord("eni-11111111111111111", "subnet-11111111aaaaaaaaa", "", "10.40.1.175", "10.40.2.236", 39812, 80, 3, "10.20.33.164", "10.40.2.236"),
			absent: []Field{FieldInstanceID},
		},
		{
			name:   "v3 transit gateway, response on the gateway's interface",
			format: transitFormat,
			line:   "3 eni-22222222222222222 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb - 10.40.2.236 10.40.2.31 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK",
			want:   transitRecord("eni-22222222222222222", "subnet-22222222bbbbbbbbb", "", "10.40.2.236", "10.40.2.31", 80, 39812, 19, "10.40.2.236", "10.20.33.164"),
			absent: []Field{FieldInstanceID},
		},
		{
			name:   "v5 S3 ingress",
			format: trafficPathFormat,
			line:   "5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 S3 - - ingress OK",
			want: Record{Version: 5, SrcAddr: addr("52.95.128.179"), DstAddr: addr("10.0.0.71"), SrcPort: 80, DstPort: 34210, Protocol: 6,
				Start: 1616729292, End: 1616729349, Packets: 14, Bytes: 15044, AccountID: "123456789012", VPCID: "vpc-abcdefab012345678",
				SubnetID: "subnet-aaaaaaaa012345678", InstanceID: "i-0c50d5961bcb2d47b", InterfaceID: "eni-1235b8ca123456789",
				Action: ActionAccept, TCPFlags: 19, PktSrcAddr: addr("52.95.128.179"), PktDstAddr: addr("10.0.0.71"),
				FlowDirection: "ingress", LogStatus: StatusOK},
			absent: []Field{FieldSublocationType, FieldSublocationID, FieldPktDstAWSService, FieldTrafficPath},
		},
		{
			name:   "v5 S3 egress through an internet gateway",
			format: trafficPathFormat,
			line:   "5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK",
			want: Record{Version: 5, SrcAddr: addr("10.0.0.71"), DstAddr: addr("52.95.128.179"), SrcPort: 34210, DstPort: 80, Protocol: 6,
				Start: 1616729292, End: 1616729349, Packets: 7, Bytes: 471, AccountID: "123456789012", VPCID: "vpc-abcdefab012345678",
				SubnetID: "subnet-aaaaaaaa012345678", InstanceID: "i-0c50d5961bcb2d47b", InterfaceID: "eni-1235b8ca123456789",
				Action: ActionAccept, TCPFlags: 3, PktSrcAddr: addr("10.0.0.71"), PktDstAddr: addr("52.95.128.179"),
				TrafficPath: 8, FlowDirection: "egress", LogStatus: StatusOK},
			absent: []Field{FieldPktSrcAWSService},
		},
		{
			name:   "v4 location fields",
			format: "${version} ${interface-id} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${bytes}",
			line:   "4 eni-1235b8ca123456789 us-east-1 use1-az4 wavelength wlid-1 5000000000",
			want:   Record{Version: 4, InterfaceID: "eni-1235b8ca123456789", Bytes: 5_000_000_000},
		},
		{
			name:   "v5 egress through an internet gateway",
			format: "${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path} ${action} ${log-status}",
			line:   "5 eni-1235b8ca123456789 10.0.1.5 52.216.10.1 50123 443 6 - S3 egress 8 ACCEPT OK",
			want: Record{Version: 5, InterfaceID: "eni-1235b8ca123456789", SrcAddr: addr("10.0.1.5"), DstAddr: addr("52.216.10.1"),
				SrcPort: 50123, DstPort: 443, Protocol: 6, FlowDirection: "egress", TrafficPath: 8, Action: ActionAccept, LogStatus: StatusOK},
			absent: []Field{FieldPktSrcAWSService},
		},
		{
			name:   "v5 ingress has no traffic path",
			format: "${version} ${flow-direction} ${traffic-path} ${srcaddr}",
			line:   "5 ingress - 2001:db8::5",
			want:   Record{Version: 5, FlowDirection: "ingress", SrcAddr: addr("2001:db8::5")},
			absent: []Field{FieldTrafficPath},
		},
		{
			name:   "v10 encryption status",
			format: "${flow-direction} ${traffic-path} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${encryption-status}",
			line:   "egress 1 10.0.128.55 10.0.133.8 80 43236 1",
			want: Record{FlowDirection: "egress", TrafficPath: 1, SrcAddr: addr("10.0.128.55"), DstAddr: addr("10.0.133.8"),
				SrcPort: 80, DstPort: 43236, EncryptionStatus: 1},
		},
		{
			name: "trailing newline",
			line: "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\r\n",
			want: Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789",
				Start: 1431280876, End: 1431280934, LogStatus: StatusNoData},
		},
		{
			name: "counters past 32 bits",
			line: "2 123456789010 eni-1235b8ca123456789 10.0.0.1 10.0.0.2 1 65535 255 18446744073709551615 9999999999999999 1 9223372036854775807 ACCEPT OK",
			want: Record{Version: 2, AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789",
				SrcAddr: addr("10.0.0.1"), DstAddr: addr("10.0.0.2"), SrcPort: 1, DstPort: 65535, Protocol: 255,
				Packets: 18446744073709551615, Bytes: 9999999999999999, Start: 1, End: 9223372036854775807, Action: ActionAccept, LogStatus: StatusOK},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format := DefaultFormat()
			if tt.format != "" {
				format = mustFormat(t, tt.format)
			}
			p := NewParser(format)
			var r Record
			if err := p.Parse(tt.line, &r); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkTyped(t, &r, &tt.want)
			toks := strings.Fields(tt.line)
			for i, f := range format.fields {
				v, ok := r.Value(f)
				if toks[i] == "-" {
					if ok || r.Has(f) {
						t.Errorf("%s: Value = %q, %v; want absent", f, v, ok)
					}
					continue
				}
				if !ok || v != toks[i] || !r.Has(f) {
					t.Errorf("%s: Value = %q, %v; want %q", f, v, ok, toks[i])
				}
			}
			for _, f := range tt.absent {
				if r.Has(f) {
					t.Errorf("%s present, want absent", f)
				}
			}
			if r.Format() != format {
				t.Error("Record.Format is not the parser's format")
			}
		})
	}
}

func checkTyped(t *testing.T, got, want *Record) {
	t.Helper()
	type pair struct {
		name      string
		got, want any
	}
	for _, c := range []pair{
		{"Version", got.Version, want.Version}, {"AccountID", got.AccountID, want.AccountID},
		{"InterfaceID", got.InterfaceID, want.InterfaceID}, {"SrcAddr", got.SrcAddr, want.SrcAddr},
		{"DstAddr", got.DstAddr, want.DstAddr}, {"SrcPort", got.SrcPort, want.SrcPort},
		{"DstPort", got.DstPort, want.DstPort}, {"Protocol", got.Protocol, want.Protocol},
		{"Packets", got.Packets, want.Packets}, {"Bytes", got.Bytes, want.Bytes},
		{"Start", got.Start, want.Start}, {"End", got.End, want.End},
		{"Action", got.Action, want.Action}, {"LogStatus", got.LogStatus, want.LogStatus},
		{"VPCID", got.VPCID, want.VPCID}, {"SubnetID", got.SubnetID, want.SubnetID},
		{"InstanceID", got.InstanceID, want.InstanceID}, {"TCPFlags", got.TCPFlags, want.TCPFlags},
		{"PktSrcAddr", got.PktSrcAddr, want.PktSrcAddr}, {"PktDstAddr", got.PktDstAddr, want.PktDstAddr},
		{"FlowDirection", got.FlowDirection, want.FlowDirection}, {"TrafficPath", got.TrafficPath, want.TrafficPath},
		{"EncryptionStatus", got.EncryptionStatus, want.EncryptionStatus},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	const good = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	with := func(i int, tok string) string {
		toks := strings.Split(good, " ")
		toks[i] = tok
		return strings.Join(toks, " ")
	}
	tests := []struct {
		name  string
		line  string
		err   error
		field Field
		token string
	}{
		{"empty line", "", ErrEmptyLine, 0, ""},
		{"newline only", "\n", ErrEmptyLine, 0, ""},
		{"a field short", strings.TrimSuffix(good, " OK"), ErrFieldCount, 0, ""},
		{"a field too many", good + " -", ErrFieldCount, 0, ""},
		{"v3 line under the default format", "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK", ErrFieldCount, 0, ""},
		{"a field short, a space leading", " " + strings.TrimPrefix(good, "2 "), ErrFieldCount, 0, ""},
		{"tab separated", strings.ReplaceAll(good, " ", "\t"), ErrFieldCount, 0, ""},
		{"spaces only", "   ", ErrEmptyLine, 0, ""},
		{"interface ID without prefix", with(2, "1235b8ca123456789"), ErrSyntax, FieldInterfaceID, "1235b8ca123456789"},
		{"interface ID of another resource", with(2, "vpc-1235b8ca123456789"), ErrSyntax, FieldInterfaceID, "vpc-1235b8ca123456789"},
		{"interface ID of 9 digits", with(2, "eni-1235b8ca1"), ErrSyntax, FieldInterfaceID, "eni-1235b8ca1"},
		{"interface ID of 18 digits", with(2, "eni-1235b8ca1234567890"), ErrSyntax, FieldInterfaceID, "eni-1235b8ca1234567890"},
		{"interface ID not hex", with(2, "eni-1235b8ca12345678g"), ErrSyntax, FieldInterfaceID, "eni-1235b8ca12345678g"},
		{"interface ID upper case", with(2, "eni-1235B8CA123456789"), ErrSyntax, FieldInterfaceID, "eni-1235B8CA123456789"},
		{"interface ID with markup", with(2, "eni-<b>x</b>"), ErrSyntax, FieldInterfaceID, "eni-<b>x</b>"},
		{"account ID of 13 digits", with(1, "1234567890100"), ErrSyntax, FieldAccountID, "1234567890100"},
		{"account ID not digits", with(1, "12345678901a"), ErrSyntax, FieldAccountID, "12345678901a"},
		{"port out of range", with(6, "65536"), ErrRange, FieldDstPort, "65536"},
		{"negative port", with(5, "-1"), ErrSyntax, FieldSrcPort, "-1"},
		{"protocol out of range", with(7, "256"), ErrRange, FieldProtocol, "256"},
		{"non-numeric bytes", with(9, "12x4"), ErrSyntax, FieldBytes, "12x4"},
		{"signed packets", with(8, "+20"), ErrSyntax, FieldPackets, "+20"},
		{"bytes past 64 bits", with(9, "18446744073709551616"), ErrRange, FieldBytes, "18446744073709551616"},
		{"long number", with(9, "100000000000000000000000000"), ErrRange, FieldBytes, "100000000000000000000000000"},
		{"many digits", with(8, "12345678901234567890123x"), ErrSyntax, FieldPackets, "12345678901234567890123x"},
		{"time past int64", with(10, "9223372036854775808"), ErrRange, FieldStart, "9223372036854775808"},
		{"decimal time", with(11, "1418530070.5"), ErrSyntax, FieldEnd, "1418530070.5"},
		{"bad IPv4", with(3, "172.31.16.256"), ErrSyntax, FieldSrcAddr, "172.31.16.256"},
		{"IPv4 leading zero", with(3, "172.031.16.1"), ErrSyntax, FieldSrcAddr, "172.031.16.1"},
		{"short IPv4", with(4, "172.31.16"), ErrSyntax, FieldDstAddr, "172.31.16"},
		{"bad IPv6", with(4, "2001:db8::1::2"), ErrSyntax, FieldDstAddr, "2001:db8::1::2"},
		{"IPv6 zone", with(4, "fe80::1%eth0"), ErrSyntax, FieldDstAddr, "fe80::1%eth0"},
		{"host name", with(3, "example.com"), ErrSyntax, FieldSrcAddr, "example.com"},
		{"lower-case action", with(12, "accept"), ErrSyntax, FieldAction, "accept"},
		{"unknown status", with(13, "PARTIAL"), ErrSyntax, FieldLogStatus, "PARTIAL"},
		{"JSON instead of a record", `{"version":2,"bytes":1}`, ErrFieldCount, 0, ""},
	}
	p := NewParser(nil)
	a := NewAggregator(Options{MalformedSamples: 100})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			err := p.Parse(tt.line, &r)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tt.err) {
				t.Fatalf("Parse error = %v, want a *ParseError wrapping %v", err, tt.err)
			}
			if pe.Field != tt.field || pe.Token != tt.token {
				t.Errorf("error names field %v token %q, want %v %q", pe.Field, pe.Token, tt.field, tt.token)
			}
			if tt.field.Valid() && !strings.Contains(err.Error(), tt.field.Name()) {
				t.Errorf("message %q does not name the field", err)
			}
			a.AddLine(p, tt.line)
		})
	}
	s := a.Summary()
	if s.Malformed.Count != uint64(len(tests)) || len(s.Malformed.Samples) != len(tests) || s.Totals.Records != 0 {
		t.Errorf("aggregator counted %d malformed (%d samples) and %d records, want %d malformed and no records",
			s.Malformed.Count, len(s.Malformed.Samples), s.Totals.Records, len(tests))
	}
	for i, smp := range s.Malformed.Samples {
		if smp.Error == "" || smp.Line != strings.ToValidUTF8(tests[i].line, "\uFFFD") {
			t.Errorf("sample %d = %+v", i, smp)
		}
	}
}

func TestParseErrorCounts(t *testing.T) {
	p := NewParser(nil)
	var r Record
	err := p.Parse("2 a b", &r)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Got != 3 || pe.Want != 14 {
		t.Fatalf("error %v, want 3 of 14 fields", err)
	}
	err = p.Parse(strings.Repeat("- ", 20)+"-", &r)
	if !errors.As(err, &pe) || pe.Got != 21 || pe.Want != 14 {
		t.Fatalf("error %v, want 21 of 14 fields", err)
	}
	long := strings.Repeat("9", 500)
	err = p.Parse("2 123456789010 eni-1235b8ca123456789 1.1.1.1 1.1.1.2 1 1 6 1 "+long+" 1 2 ACCEPT OK", &r)
	if !errors.As(err, &pe) || len(pe.Token) != maxErrorToken || pe.Len != len(long) || !strings.Contains(err.Error(), "(500 bytes)") {
		t.Fatalf("error %v: the token should be cut to %d bytes and its length given", err, maxErrorToken)
	}
}

// TestParserInterfaceFallback checks the interface a record without one
// takes from SetInterfaceID, and that an ID not shaped as AWS writes them,
// as a hostile stream name can give, is not taken.
func TestParserInterfaceFallback(t *testing.T) {
	f := mustFormat(t, "${srcaddr} ${dstaddr} ${bytes}")
	for _, c := range []struct{ name, id, want string }{
		{"stream's interface", "eni-0a1b2c3d4e5f60718", "eni-0a1b2c3d4e5f60718"},
		{"older form", "eni-0a1b2c3d", "eni-0a1b2c3d"},
		{"none", "", ""},
		{"too long", "eni-" + strings.Repeat("a", 500), ""},
		{"not hex", "eni-0a1b2c3d4e5f6071z", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewParser(f)
			p.SetInterfaceID(c.id)
			var r Record
			if err := p.Parse("10.0.0.1 10.0.0.2 100", &r); err != nil {
				t.Fatal(err)
			}
			if r.InterfaceID != c.want || r.Has(FieldInterfaceID) {
				t.Errorf("InterfaceID = %q (has %v), want %q and no field", r.InterfaceID, r.Has(FieldInterfaceID), c.want)
			}
		})
	}
}

func TestDecodedTags(t *testing.T) {
	f := mustFormat(t, "${instance-tag} ${interface-tag} ${asg-tag} ${instance-tag-2} ${vpc-id} ${asg-tag-2}")
	p := NewParser(f)
	var r Record
	if err := p.Parse("web%20tier caf%C3%A9 plain - vpc-0a1b2c3d bad%zz", &r); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		field Field
		want  string
		err   error
	}{
		{FieldInstanceTag, "web tier", nil},
		{FieldInterfaceTag, "café", nil},
		{FieldASGTag, "plain", nil},
		{FieldInstanceTag2, "", ErrAbsent},
		{FieldVPCID, "vpc-0a1b2c3d", nil},
		{FieldASGTag2, "", ErrBadEscape},
		{FieldInterfaceTag2, "", ErrAbsent},
	}
	for _, tt := range tests {
		got, err := r.Decoded(tt.field)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Decoded(%s) = %q, %v; want %q, %v", tt.field, got, err, tt.want, tt.err)
		}
	}
	raw, _ := r.Value(FieldInstanceTag)
	if raw != "web%20tier" {
		t.Errorf("Value keeps the encoding: got %q", raw)
	}
	for _, bad := range []string{"%", "%4", "%ff", "a%g1"} {
		if _, err := percentDecode(bad); !errors.Is(err, ErrBadEscape) {
			t.Errorf("percentDecode(%q): %v, want ErrBadEscape", bad, err)
		}
	}
}

func TestIPv6MatchesNetip(t *testing.T) {
	for _, s := range []string{
		"::", "::1", "1::", "2001:db8::1", "2001:db8:1234:a100:8d6e:3477:df66:f105", "::ffff:1.2.3.4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8", "1:2:3:4:5:6::8", "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4",
		":", ":::", "1:::2", "1:2", "12345::", "1:2:3:4:5:6:7:8:9", "1::2::3", "::ffff:1.2.3", "1:", ":1",
		"::1:", "ABCD::EF", "1:2:3:4:5:6:7:1.2.3.4", "0:0:0:0:0:0:0:0", "::01.2.3.4", "1::2:3:4:5:6:7",
		"::1.2.3.4.5", "::1.2.3.4:1", "1:2:3:4:5:6:7:8::", "::0000:1", "::00000:1", "g::1",
	} {
		want, err := netip.ParseAddr(s)
		got, ok := parseIPv6(s)
		if (err == nil) != ok || (ok && got != want) {
			t.Errorf("parseIPv6(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
	}
}

func TestIPv4MatchesNetip(t *testing.T) {
	for _, s := range []string{
		"0.0.0.0", "1.2.3.4", "10.0.0.62", "255.255.255.255", "256.1.1.1", "1.2.3.256", "01.2.3.4",
		"1.2.3.04", "1.2.3.0", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3.4", "1.2.3.4.5", "1.2.3.1000",
		"1000.2.3.4", "1.2.3.a", "1.2.3.-4", "1.2.3.4 ", "999.999.999.999", "1.2.3.45678",
	} {
		want, err := netip.ParseAddr(s)
		got, end, ok := ipv4(append([]byte(s), pad[:]...), 0)
		ok = ok && end == len(s) // the whole token is the address
		if (err == nil && want.Is4()) != ok || (ok && got != want) {
			t.Errorf("ipv4(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
	}
}

// TestNumberMatchesAtou checks the fast path's eight-bytes-at-a-time
// number reader against the plain loop: where it takes a whole token it
// reads the same value, and it leaves to the general path only tokens that
// are no number or longer than it reads.
func TestNumberMatchesAtou(t *testing.T) {
	for _, s := range []string{"0", "7", "12", "255", "65535", "12345678", "123456789", "1418530010", "0000000000000001", "9999999999999999", "18446744073709551615", "1x", "x", ":", "/", "12345678a", "a2345678"} {
		b := append([]byte(s), pad[:]...)
		got, end, ok := number(b, 0)
		want, werr := atou(s, ^uint64(0))
		if whole := ok && end == len(s); whole && (werr != nil || got != want) || !whole && werr == nil && len(s) <= 15 {
			t.Errorf("number(%q) = %d, %d, %v; atou says %d, %v", s, got, end, ok, want, werr)
		}
	}
}

func TestParseLongNumbersAllocateNothing(t *testing.T) {
	p := NewParser(nil)
	var r Record
	line := "2 123456789010 eni-1235b8ca123456789 10.0.0.1 10.0.0.2 1 2 6 18446744073709551615 12345678901234567890 1 2 ACCEPT OK"
	allocs := testing.AllocsPerRun(100, func() {
		if err := p.Parse(line, &r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 || r.Bytes != 12345678901234567890 {
		t.Errorf("%.1f allocations, bytes %d", allocs, r.Bytes)
	}
}
