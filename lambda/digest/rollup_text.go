package digest

import (
	"fmt"
)

// Subject returns the SNS subject of a roll-up: printable ASCII, under
// SNS's 100 characters.
func (r *Rollup) Subject() string {
	s := fmt.Sprintf("Flow log roll-up %s UTC: %d account-regions", r.StartedAt.UTC().Format("2006-01-02 15:04"), r.AccountRegions.Expected)
	switch {
	case r.AccountRegions.Failed > 0:
		s += fmt.Sprintf(", %d unreadable", r.AccountRegions.Failed)
	case r.SkipData > 0:
		s += ", records lost"
	}
	return subjectText(s)
}

// Text renders the roll-up as a short plain-text message. Every argument
// goes through textWriter.printf, which escapes and caps what another
// principal could have written (addresses, interface ids, failure reasons
// quoting AWS's messages): see sanitize.go.
func (r *Rollup) Text() string {
	var w textWriter
	w.printf("VPC flow log roll-up of organization %s, run %s\n", r.OrganizationID, r.RunID)
	if !r.Window.From.IsZero() {
		w.printf("Windows: from %s to %s (UTC); each account-region's own is in its digest\n",
			r.Window.From.UTC().Format("2006-01-02 15:04:05"), r.Window.To.UTC().Format("2006-01-02 15:04:05"))
	}
	c := r.AccountRegions
	w.printf("Account-regions: %d, %d digested (%d incomplete), %d with nothing to read yet, %d unreadable\n\n", c.Expected, c.Digested, c.Incomplete, c.NoWindow, c.Failed)
	if len(r.Unreadable) > 0 {
		w.printf("UNREADABLE or INCOMPLETE account-regions:\n")
		for _, u := range r.Unreadable[:min(len(r.Unreadable), textListLimit)] {
			w.printf("  %s %s  %s: %s\n", u.Account, u.Region, u.Class, clean(u.Reason, maxTextLong))
		}
		if more := len(r.Unreadable) - textListLimit; more > 0 {
			w.printf("  ... and %d more in the JSON roll-up\n", more)
		}
		w.printf("\n")
	}
	if len(r.LostRecords) > 0 {
		w.printf("WARNING: AWS lost flow log records (SKIPDATA) in %d account(s):\n", len(r.LostRecords))
		for _, l := range r.LostRecords[:min(len(r.LostRecords), textListLimit)] {
			w.printf("  %s  %s record(s)\n", l.Account, count(l.Records))
		}
		w.printf("\n")
	}
	t := r.Totals
	w.printf("Records: %s (%s accepted, %s rejected)\n", count(t.Records), count(t.Accepted), count(t.Rejected))
	w.printf("Bytes: %s accepted, %s rejected; %s packets\n", size(t.AcceptedBytes), size(t.RejectedBytes), count(t.Packets))
	w.printf("New interfaces: %d; malformed lines: %s\n", r.NewInterfaces, count(r.Malformed))
	r.textAccounts(&w)
	r.textTopLists(&w)
	return w.b.String()
}

func (r *Rollup) textAccounts(w *textWriter) {
	w.printf("\nBusiest accounts (bytes):\n")
	for _, a := range r.ByAccount[:min(len(r.ByAccount), textListLimit)] {
		w.printf("  %s  %s in %s records, %d new interface(s)\n", a.Account, size(a.Totals.Bytes), count(a.Totals.Records), a.NewInterfaces)
	}
	w.printf("\nRegions:\n")
	for _, g := range r.ByRegion[:min(len(r.ByRegion), textListLimit)] {
		w.printf("  %-16s %s in %s records\n", g.Region, size(g.Totals.Bytes), count(g.Totals.Records))
	}
}

func (r *Rollup) textTopLists(w *textWriter) {
	if r.Approximate {
		w.printf("\nTop lists are merged from each account-region's and approximate: a count may overstate by as much as shown.\n")
	}
	w.printf("\nTop talkers across the organization (bytes):\n")
	for _, x := range r.TopTalkers[:min(len(r.TopTalkers), textListLimit)] {
		w.printf("  %-39s -> %-39s %s%s\n", x.Src, x.Dst, size(x.Bytes), approx(x.MaxError))
	}
	w.printf("\nTop rejected sources (records):\n")
	for _, x := range r.TopRejectedSources[:min(len(r.TopRejectedSources), textListLimit)] {
		w.printf("  %-39s %s%s\n", x.Src, count(x.Records), approx(x.MaxError))
	}
	w.printf("\nTop destination ports (records):\n")
	for _, x := range r.TopDstPorts[:min(len(r.TopDstPorts), textListLimit)] {
		w.printf("  %-12s %s%s\n", port(x), count(x.Records), approx(x.MaxError))
	}
}
