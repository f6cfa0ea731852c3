package flowrecord_test

import (
	"fmt"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// A reader of one CloudWatch Logs stream parses its events with the flow
// log's format and sums them.
func Example() {
	format, err := flowrecord.ParseFormat(flowrecord.DefaultFormatString)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := flowrecord.NewParser(format)
	p.SetInterfaceID("eni-1235b8ca123456789") // from the log stream name
	a := flowrecord.NewAggregator(flowrecord.Options{TopK: 3})
	for _, line := range []string{
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
		"2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
		"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - SKIPDATA",
		"2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 99999 6 20 4249 1418530010 1418530070 REJECT OK",
	} {
		a.AddLine(p, line)
	}
	s := a.Summary()
	eni, _ := s.Interface("eni-1235b8ca123456789")
	fmt.Println("records:", eni.Records, "accepted:", eni.Accepted, "rejected:", eni.Rejected, "bytes:", eni.Bytes)
	fmt.Println("skipped windows:", s.SkipData.Records)
	fmt.Println("top rejected source:", s.TopRejectedSources[0].Src)
	fmt.Println("malformed:", s.Malformed.Count, s.Malformed.Samples[0].Error)
	// Output:
	// records: 3 accepted: 1 rejected: 1 bytes: 8498
	// skipped windows: 1
	// top rejected source: 172.31.9.69
	// malformed: 1 field 7 (dstport): value out of range: "99999"
}

func ExampleParseFormat() {
	_, err := flowrecord.ParseFormat("${version} ${srcaddr} ${dst-addr}")
	fmt.Println(err)
	f, _ := flowrecord.ParseFormat("${version} ${srcaddr} ${flow-direction} ${traffic-path}")
	fmt.Println(f.Version())
	// Output:
	// invalid log format: unknown field "${dst-addr}" at offset 22
	// 5
}

func ExampleRecord_Decoded() {
	f, _ := flowrecord.ParseFormat("${interface-id} ${instance-tag}")
	p := flowrecord.NewParser(f)
	var r flowrecord.Record
	if err := p.Parse("eni-1235b8ca123456789 web%20tier", &r); err != nil {
		fmt.Println(err)
		return
	}
	tag, _ := r.Decoded(flowrecord.FieldInstanceTag)
	fmt.Println(tag)
	// Output: web tier
}
