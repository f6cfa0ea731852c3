// Package flowrecord reads VPC flow log records and sums them into bounded
// summaries.
//
// # Formats
//
// The field catalogue covers flow log versions 2 to 11 (version 6 added
// only transit gateway fields). ParseFormat validates a log format exactly
// as CreateFlowLogs takes it, ${field} tokens separated by single spaces, and
// names the offending token when it is wrong; the CDK app validates its
// logFormat setting with the same function. A Format's Version is the
// highest version among its fields, the number AWS writes in ${version}.
//
// # Records
//
// A Parser turns one line into a Record: addresses as netip.Addr (IPv4 and
// IPv6), ports and protocol as ints, packets and bytes as uint64, times as
// Unix seconds, action and log-status as small enums, and every field as its
// raw token through Record.Value. A "-" is an absent value, which Record.Has
// reports. NODATA and SKIPDATA lines parse like any other.
//
// Fields are separated by spaces. A run of spaces counts as one separator
// and spaces may lead or trail, as one of AWS's own documented example
// records needs; a tab is no separator.
//
// Records are written partly by others (whoever sends traffic or tags a
// resource, or anyone who can write to the log group), so string fields
// are checked: interface-id, vpc-id, subnet-id, instance-id and the
// next-hop IDs must be the resource's prefix followed by 8 or 17
// lower-case hex digits, account-id 12 digits or "unknown", AZ IDs short
// lower-case names; any other string field is at most MaxTextToken bytes,
// a tag field at most MaxTagToken bytes. A line that fails is malformed.
//
// A line is read in one pass, each field's reader taking its token from
// eight-byte words and stopping at the separator; a line that pass cannot
// take (an unusual but valid token such as a 20-digit byte count, or a bad
// line) is read again by a general path that finds every separator first
// and names what is wrong. Parsing allocates nothing: the Record's strings
// share the line's memory and the Record is reused from line to line. (A
// line with runs of spaces, which the general path copies once with single
// spaces, is the exception.) Tag fields of version 11 are
// percent-encoded UTF-8; Record.Decoded decodes one when asked. A line that
// is not a record of the format (wrong field count, a number that does not
// parse or is out of range, an invalid address or ID, an empty line)
// yields a *ParseError naming the field and the token, cut to 64 bytes
// with its full length; Parse never panics.
//
// # Typed values
//
// A columnar file (AWS's Parquet flow logs) holds a record as typed values:
// a Row collects one record's values (Int, Bytes, Null) and
// Parser.ParseRow reads them into a Record without rendering a line, by
// the same readers as the text fast path (typed.go). It accepts a row only
// where the row's text form (Row.Line) would parse into the same Record;
// anything else goes through the text parser, so a hostile row is refused
// exactly as its text form would be, with the same *ParseError. A string
// value that is empty or holds a space or a control character, whose text
// form would shift the fields, is refused with ErrUnprintable. ParseRow
// allocates nothing.
//
// A dictionary-encoded column repeats a few distinct strings row after row:
// a Dict reads each value of a dictionary page once, with the checks
// ParseRow applies to a string (a refused value keeps its refusal), and a
// row adds the value by index with Row.Dict (typed_dict.go).
//
// A columnar reader that holds each column's current page (Column: its
// null levels, ints, byte arrays or dictionary indexes) can skip the Row:
// Parser.ReadColumns and Aggregator.AddColumns read a row straight from the
// pages into a Record, taking a dictionary value read once by index
// without touching its bytes, and send any row whose values they do not
// take at once through the Row and ParseRow, so that it is accepted or
// refused exactly as ParseRow would (columns.go).
//
// # Aggregation
//
// An Aggregator sums records overall, per interface, per protocol, and for
// NODATA and SKIPDATA with their time windows; it counts malformed lines
// and keeps the first few, each cut to 256 bytes. Aggregators built
// concurrently over consecutive chunks of input Merge into the same Summary
// as one pass over all of it.
//
// Per-interface counters are kept for the first Options.MaxInterfaces
// interfaces seen (default 10,000, about 200 bytes each); the records of
// any further interface count in every total and top list and are summed
// in Summary.InterfaceOverflow. Merging keeps the bound; when a merged
// part itself overflowed, how records split between listed interfaces and
// the overflow may differ from one pass, the totals not.
//
// Three top lists, top talkers (source-destination pairs by bytes), top
// destination ports (by records) and top rejected sources (by records), use
// the weighted Space-Saving algorithm of Metwally, Agrawal and El Abbadi
// (2005), each with a table of Options.MaxTracked keys. Memory is therefore
// bounded by MaxTracked per list whatever the input (at most about 250
// bytes a key: the key, its counts, and a share of an open-addressing hash
// table at most three quarters full), plus at most MaxInterfaces interface
// counters, a counter per protocol and a bounded list of SKIPDATA windows.
// The tables' hashes are seeded per process, IPv6 addresses word by word,
// so that nobody can choose addresses that collide in them.
//
// While a list sees no more than MaxTracked distinct keys its counts are
// exact, and so is its top K, ordered by count and then by key; the table
// then holds only counts. Past the bound a new key takes the counter of the smallest count and inherits that
// count as its error. Then, with N the list's total weight: every key whose
// true count exceeds N/MaxTracked is still in the table; a reported count
// overstates the true one by at most its MaxError (at most N/MaxTracked);
// the order of keys whose true counts differ by less than that may be wrong,
// and a key with a small count may be missing from the top K. The Summary
// flags this with Approximate. Merging two tables adds counts and charges a
// key missing from a table that evicted with that table's smallest count
// (Agarwal et al., Mergeable Summaries, 2012), so the same bounds hold after
// a merge, although the approximate counts may differ from one pass. Totals,
// per-protocol counters and the counters of listed interfaces are always
// exact.
//
// # Detectors
//
// Beside the Summary, an Aggregator runs detectors (detect.go) whose
// results Signals returns, with Thresholds deciding what counts as a scan.
// They allocate nothing per record once their keys are known, keep out of
// Summary (whose shape package flowrecordtest checks), and merge like the
// rest:
//
//   - port scans and sweeps: for each (source, destination) pair and each
//     (source, destination port) pair, a HyperLogLog sketch of the distinct
//     ports, respectively hosts, reached by probes (records of at most
//     MaxProbePackets packets of at most MaxProbePacketBytes bytes each on
//     average: headers only). A sketch has 128 one-byte registers
//     (precision 7): relative standard error 1.04/sqrt(128), about 9.2%,
//     and linear counting below 320 distinct values. At most
//     Options.MaxSources pairs of each kind are tracked (default 4,096,
//     about 1.2 MB each), exact below the bound; past it a new pair takes
//     the slot of the pair with the fewest records and Signals says
//     ScansApproximate.
//   - the interface's own address per family, learnt from its records
//     (every record of its stream has it as source or destination), and
//     from it accepted inbound service ports (a destination port on the
//     own address below the source port) and bytes leaving (a private or
//     own source to a public destination), each in a Space-Saving table of
//     Options.MaxTracked keys keyed by interface.
//
// AWSRanges reads AWS's published ip-ranges.json, refusing a document not
// of AWS's shape (it may come from the network), and tells its addresses
// apart, the most specific prefix and a named service over AMAZON, without
// allocating.
//
// Test support that writes records, a Generator with the exact Summary
// of what it wrote, lives in package flowrecordtest.
package flowrecord
