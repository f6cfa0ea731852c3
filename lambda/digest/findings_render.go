package digest

import (
	"fmt"
	"strings"
)

// textFindings opens the plain text: the findings, ranked, each with why
// and its evidence, or "No findings." said plainly. Every string goes
// through textWriter.printf: subjects and evidence hold addresses and ids
// from records, escaped like all rendered input.
func (d *Digest) textFindings(w *textWriter) {
	if d.FindingsBasis == nil {
		return // the window was not read: nothing was looked for
	}
	b := d.FindingsBasis
	if b.Total == 0 {
		w.printf("No findings.\n")
	} else {
		w.printf("Findings: %d (%s)\n", b.Total, severityCounts(d.Findings))
	}
	for i, f := range d.Findings[:min(len(d.Findings), textListLimit)] {
		w.printf("  %d. [%s] %s %s\n", i+1, f.Severity, f.Type, f.Subject)
		w.printf("     %s\n", clean(f.Why, maxTextLong))
		if ev := evidenceText(f.Evidence); ev != "" {
			w.printf("     %s\n", ev)
		}
	}
	if more := b.Total - min(len(d.Findings), textListLimit); more > 0 {
		w.printf("  ... and %d more in the JSON digest\n", more)
	}
	if b.EgressBytes+b.EgressAWSBytes > 0 {
		w.printf("Leaving to public addresses: %s, of which %s to AWS's ranges\n", size(b.EgressBytes+b.EgressAWSBytes), size(b.EgressAWSBytes))
		for _, e := range b.TopEgress[:min(len(b.TopEgress), 5)] {
			aws := ""
			if e.AWS != "" {
				aws = "  (AWS " + string(clean(e.AWS, maxTextField)) + ")"
			}
			w.printf("  %-39s %s%s\n", e.Dst, size(e.Bytes), safe(aws))
		}
	}
	w.printf("%s\n", safe(findingsSummaryLine(b)))
	if b.AWSRanges != "" {
		w.printf("AWS address ranges: ip-ranges.json of %s%s.\n", b.AWSRanges, awsRangesSourceText(b.AWSRangesSource))
	}
	w.printf("\n")
}

// severityCounts says "1 high, 2 low" for the listed findings.
func severityCounts(fs []Finding) string {
	n := map[string]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var parts []string
	for _, s := range []string{SeverityHigh, SeverityMedium, SeverityLow} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// evidenceText is one line of a finding's evidence, each piece cleaned.
func evidenceText(e Evidence) safe {
	var parts []string
	list := func(name string, xs []string) {
		if len(xs) == 0 {
			return
		}
		cleaned := make([]string, 0, min(len(xs), 5))
		for _, x := range xs[:min(len(xs), 5)] {
			cleaned = append(cleaned, string(clean(x, maxTextField)))
		}
		parts = append(parts, name+" "+strings.Join(cleaned, ", "))
	}
	if e.VPC != "" {
		parts = append(parts, "vpc "+string(clean(e.VPC, maxTextField)))
	}
	list("interfaces", e.Interfaces)
	list("addresses", e.Addresses)
	list("ports", e.Ports)
	if e.Bytes > 0 {
		parts = append(parts, size(e.Bytes))
	}
	if e.Approximate {
		parts = append(parts, "counts approximate")
	}
	return safe(strings.Join(parts, "; "))
}

// awsRangesSourceText says where the ranges came from; nothing for a
// digest written before the fetch existed (or a source it does not know).
func awsRangesSourceText(source string) string {
	switch source {
	case AWSRangesFetched:
		return ", fetched at cold start"
	case AWSRangesEmbedded:
		return ", the copy built into the function"
	}
	return ""
}
