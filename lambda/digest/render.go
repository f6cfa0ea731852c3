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

// Subject returns the SNS subject of a digest: printable ASCII, under
// SNS's 100 characters (subjectText holds it to SNS's rules whatever it
// comes to say).
func (d *Digest) Subject() string {
	s := fmt.Sprintf("Flow log digest %s-%s UTC", d.Window.From.UTC().Format("2006-01-02 15:04"), d.Window.To.UTC().Format("15:04"))
	// What needs attention first: a mail client shows little more.
	var notes []string
	switch n := len(d.Findings); n {
	case 0:
	case 1:
		notes = append(notes, "1 finding")
	default:
		notes = append(notes, fmt.Sprintf("%d findings", n))
	}
	if d.SkipData.Records > 0 {
		notes = append(notes, "records lost")
	}
	switch {
	case len(notes) > 0:
		s += ": " + strings.Join(notes, ", ")
	case d.Window.Partial:
		s += " (partial)"
	}
	return subjectText(s)
}

// Text renders the digest as a short plain-text message. Every string in
// it goes through textWriter.printf, which escapes and caps what another
// principal could have written (interface ids and addresses from records,
// EC2 descriptions, warnings quoting input): see sanitize.go.
func (d *Digest) Text() string {
	var w textWriter
	d.textHeader(&w)
	d.textFindings(&w) // findings_render.go: what needs attention first
	d.textSkipData(&w)
	d.textTotals(&w)
	d.textNewInterfaces(&w)
	d.textTopLists(&w)
	if len(d.Warnings) > 0 {
		w.printf("\nWarnings:\n")
		for _, s := range d.Warnings[:min(len(d.Warnings), textListLimit)] {
			w.printf("  %s\n", clean(s, maxTextLong))
		}
	}
	return w.b.String()
}

func (d *Digest) textHeader(w *textWriter) {
	w.printf("VPC flow log digest for %s\n", clean(d.LogGroup, maxTextLong))
	w.printf("Window: %s to %s (UTC)\n", d.Window.From.UTC().Format("2006-01-02 15:04:05"), d.Window.To.UTC().Format("2006-01-02 15:04:05"))
	if d.Window.Partial {
		w.printf("PARTIAL: this run stopped before %s; the next run continues from %s.\n",
			d.Window.PlannedTo.UTC().Format("2006-01-02 15:04:05"), d.Window.To.UTC().Format("15:04:05"))
	}
	if d.Incomplete != nil {
		w.printf("INCOMPLETE: %s.\n", clean(d.Incomplete.Reason, maxTextLong))
	}
	if d.Gap != nil {
		w.printf("WARNING: skipped %s to %s: %s.\n", d.Gap.From.UTC().Format("2006-01-02 15:04:05"), d.Gap.To.UTC().Format("2006-01-02 15:04:05"), clean(d.Gap.Reason, maxTextLong))
	}
	w.printf("\n")
}

// textSkipData says whether AWS lost records, after the findings.
func (d *Digest) textSkipData(w *textWriter) {
	if d.SkipData.Records > 0 {
		w.printf("WARNING: %s.\n", clean(d.SkipData.Message, maxTextLong))
		for _, x := range d.SkipData.Windows[:min(len(d.SkipData.Windows), textListLimit)] {
			w.printf("  %s  %s to %s\n", x.InterfaceID, unixUTC(x.Start), unixUTC(x.End))
		}
		w.printf("\n")
	} else {
		w.printf("No records lost (no SKIPDATA).\n\n")
	}
}

func (d *Digest) textTotals(w *textWriter) {
	t := d.Totals
	w.printf("Records: %s (%s accepted, %s rejected) on %d interface(s)\n", count(t.Records), count(t.Accepted), count(t.Rejected), t.Interfaces)
	w.printf("Bytes: %s accepted, %s rejected; %s packets\n", size(t.AcceptedBytes), size(t.RejectedBytes), count(t.Packets))
	w.printf("NODATA records: %s; malformed lines: %s\n", count(d.NoData.Records), count(d.Malformed.Count))
	if d.Approximate {
		w.printf("Top lists are approximate: more distinct keys than tracked.\n")
	}
}

func (d *Digest) textNewInterfaces(w *textWriter) {
	w.printf("\nNew interfaces: %d", d.NewInterfaces.Count)
	if d.NewInterfaces.Gone > 0 {
		w.printf(" (%d gone)", d.NewInterfaces.Gone)
	}
	w.printf("\n")
	items := d.NewInterfaces.Items
	for _, n := range items[:min(len(items), textListLimit)] {
		w.printf("  %s  %s\n", n.InterfaceID, describe(n))
		if n.Traffic != nil {
			w.printf("    %s records, %s, %s rejected\n", count(n.Traffic.Records), size(n.Traffic.Bytes), count(n.Traffic.Rejected))
		}
	}
	if more := d.NewInterfaces.Count - min(len(items), textListLimit); more > 0 {
		w.printf("  ... and %d more in the JSON digest\n", more)
	}
}

func (d *Digest) textTopLists(w *textWriter) {
	w.printf("\nTop talkers (bytes):\n")
	for _, x := range d.TopTalkers[:min(len(d.TopTalkers), textListLimit)] {
		w.printf("  %-39s -> %-39s %s%s\n", x.Src, x.Dst, size(x.Bytes), approx(x.MaxError))
	}
	w.printf("\nTop rejected sources (records):\n")
	for _, x := range d.TopRejectedSources[:min(len(d.TopRejectedSources), textListLimit)] {
		w.printf("  %-39s %s%s\n", x.Src, count(x.Records), approx(x.MaxError))
	}
	w.printf("\nTop destination ports (records):\n")
	for _, x := range d.TopDstPorts[:min(len(d.TopDstPorts), textListLimit)] {
		w.printf("  %-12s %s%s\n", port(x), count(x.Records), approx(x.MaxError))
	}
	w.printf("\nBusiest interfaces (bytes):\n")
	for _, x := range d.BusiestInterfaces[:min(len(d.BusiestInterfaces), textListLimit)] {
		w.printf("  %-22s %s in %s records\n", x.InterfaceID, size(x.Bytes), count(x.Records))
	}
}

// describe says what a new interface is, each field cleaned with its own
// cap.
func describe(n NewInterface) safe {
	switch n.State {
	case InterfaceGone:
		return "gone (EC2 no longer knows it)"
	case InterfaceUnknown:
		return "not described"
	}
	var parts []string
	add := func(prefix, s string) {
		if s != "" {
			parts = append(parts, prefix+string(clean(s, maxTextField)))
		}
	}
	add("", n.Type)
	if n.Description != "" {
		parts = append(parts, string(quote(n.Description, maxTextLong)))
	}
	switch {
	case n.InstanceID != "":
		add("instance ", n.InstanceID)
	case n.ManagedBy != "":
		add("managed by ", n.ManagedBy)
	case n.RequesterManaged:
		add("requester-managed by ", n.RequesterID)
	}
	add("", n.SubnetID)
	add("", n.VPCID)
	for _, g := range n.SecurityGroups {
		add("", g.ID)
	}
	return safe(strings.Join(parts, ", "))
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
