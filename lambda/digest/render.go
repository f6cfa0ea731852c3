package digest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// textListLimit bounds each list in the plain-text rendering: it is a short
// message for a person, and the JSON digest holds the rest.
const textListLimit = 10

// Subject returns the SNS subject of a digest: ASCII, under SNS's 100
// characters.
func (d *Digest) Subject() string {
	s := fmt.Sprintf("Flow log digest %s-%s UTC", d.Window.From.UTC().Format("2006-01-02 15:04"), d.Window.To.UTC().Format("15:04"))
	switch {
	case d.SkipData.Records > 0:
		s += ": records lost"
	case d.Window.Partial:
		s += " (partial)"
	}
	return s
}

// Text renders the digest as a short plain-text message.
func (d *Digest) Text() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("VPC flow log digest for %s\n", d.LogGroup)
	p("Window: %s to %s (UTC)\n", d.Window.From.UTC().Format("2006-01-02 15:04:05"), d.Window.To.UTC().Format("2006-01-02 15:04:05"))
	if d.Window.Partial {
		p("PARTIAL: this run stopped before %s; the next run continues from %s.\n",
			d.Window.PlannedTo.UTC().Format("2006-01-02 15:04:05"), d.Window.To.UTC().Format("15:04:05"))
	}
	if d.Incomplete != nil {
		p("INCOMPLETE: %s.\n", d.Incomplete.Reason)
	}
	if d.Gap != nil {
		p("WARNING: skipped %s to %s: %s.\n", d.Gap.From.UTC().Format("2006-01-02 15:04:05"), d.Gap.To.UTC().Format("2006-01-02 15:04:05"), d.Gap.Reason)
	}
	p("\n")
	if d.SkipData.Records > 0 {
		p("WARNING: %s.\n", d.SkipData.Message)
		for _, w := range d.SkipData.Windows[:min(len(d.SkipData.Windows), textListLimit)] {
			p("  %s  %s to %s\n", w.InterfaceID, unixUTC(w.Start), unixUTC(w.End))
		}
		p("\n")
	} else {
		p("No records lost (no SKIPDATA).\n\n")
	}

	t := d.Totals
	p("Records: %s (%s accepted, %s rejected) on %d interface(s)\n", count(t.Records), count(t.Accepted), count(t.Rejected), t.Interfaces)
	p("Bytes: %s accepted, %s rejected; %s packets\n", size(t.AcceptedBytes), size(t.RejectedBytes), count(t.Packets))
	p("NODATA records: %s; malformed lines: %s\n", count(d.NoData.Records), count(d.Malformed.Count))
	if d.Approximate {
		p("Top lists are approximate: more distinct keys than tracked.\n")
	}

	p("\nNew interfaces: %d", d.NewInterfaces.Count)
	if d.NewInterfaces.Gone > 0 {
		p(" (%d gone)", d.NewInterfaces.Gone)
	}
	p("\n")
	items := d.NewInterfaces.Items
	for _, n := range items[:min(len(items), textListLimit)] {
		p("  %s  %s\n", n.InterfaceID, describe(n))
		if n.Traffic != nil {
			p("    %s records, %s, %s rejected\n", count(n.Traffic.Records), size(n.Traffic.Bytes), count(n.Traffic.Rejected))
		}
	}
	if more := d.NewInterfaces.Count - min(len(items), textListLimit); more > 0 {
		p("  ... and %d more in the JSON digest\n", more)
	}

	p("\nTop talkers (bytes):\n")
	for _, x := range d.TopTalkers[:min(len(d.TopTalkers), textListLimit)] {
		p("  %-39s -> %-39s %s%s\n", x.Src, x.Dst, size(x.Bytes), approx(x.MaxError))
	}
	p("\nTop rejected sources (records):\n")
	for _, x := range d.TopRejectedSources[:min(len(d.TopRejectedSources), textListLimit)] {
		p("  %-39s %s%s\n", x.Src, count(x.Records), approx(x.MaxError))
	}
	p("\nTop destination ports (records):\n")
	for _, x := range d.TopDstPorts[:min(len(d.TopDstPorts), textListLimit)] {
		p("  %-12s %s%s\n", port(x), count(x.Records), approx(x.MaxError))
	}
	p("\nBusiest interfaces (bytes):\n")
	for _, x := range d.BusiestInterfaces[:min(len(d.BusiestInterfaces), textListLimit)] {
		p("  %-22s %s in %s records\n", x.InterfaceID, size(x.Bytes), count(x.Records))
	}
	if len(d.Warnings) > 0 {
		p("\nWarnings:\n")
		for _, w := range d.Warnings[:min(len(d.Warnings), textListLimit)] {
			p("  %s\n", w)
		}
	}
	return b.String()
}

func describe(n NewInterface) string {
	var parts []string
	switch n.State {
	case InterfaceGone:
		return "gone (EC2 no longer knows it)"
	case InterfaceUnknown:
		return "not described"
	}
	if n.Type != "" {
		parts = append(parts, n.Type)
	}
	if n.Description != "" {
		parts = append(parts, strconv.Quote(n.Description))
	}
	switch {
	case n.InstanceID != "":
		parts = append(parts, "instance "+n.InstanceID)
	case n.ManagedBy != "":
		parts = append(parts, "managed by "+n.ManagedBy)
	case n.RequesterManaged:
		parts = append(parts, "requester-managed by "+n.RequesterID)
	}
	if n.SubnetID != "" {
		parts = append(parts, n.SubnetID)
	}
	if n.VPCID != "" {
		parts = append(parts, n.VPCID)
	}
	for _, g := range n.SecurityGroups {
		parts = append(parts, g.ID)
	}
	return strings.Join(parts, ", ")
}

func port(x flowrecord.PortCount) string {
	name := flowrecord.ProtocolName(x.Protocol)
	if name == "" {
		if x.Protocol < 0 {
			return strconv.Itoa(x.Port)
		}
		name = "proto" + strconv.Itoa(x.Protocol)
	}
	return strconv.Itoa(x.Port) + "/" + name
}

func approx(maxErr uint64) string {
	if maxErr == 0 {
		return ""
	}
	return " (may overstate by " + count(maxErr) + ")"
}

func unixUTC(s int64) string {
	return time.Unix(s, 0).UTC().Format("15:04:05")
}

// count writes n with thousands separators.
func count(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		b.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// size writes a byte count in binary units.
func size(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
