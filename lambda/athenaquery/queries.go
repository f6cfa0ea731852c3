package athenaquery

import "strings"

// Query is one named query. Its SQL reads the table named flow_logs in the
// query's database and takes execution parameters (?), described in order
// by Params.
type Query struct {
	// Name is the named query's name, unique in the workgroup.
	Name        string
	Description string
	SQL         string
	Params      []string
}

// Parameter descriptions shared by the queries.
const (
	paramFrom = "from: the first partition, YYYYMMDDHH (YYYYMMDD with daily partitions), quoted: '2026120300'"
	paramTo   = "to: the partition after the last, same form"
)

// Queries are the named queries for a table partitioned per hour or per
// day. Each selects the partitions of [from, to) first, so a query reads
// only those files. Only SQL that Athena (Trino) and DuckDB share: concat,
// count(DISTINCT …), sum, min, GROUP BY, HAVING, ORDER BY, LIMIT, double
// quotes for the column named end.
func Queries(perHour bool) []Query {
	key := "concat(year, month, day)"
	if perHour {
		key = "concat(year, month, day, hour)"
	}
	inRange := key + " >= ? AND " + key + " < ?"
	q := func(name, description, sql string, params ...string) Query {
		sql = strings.ReplaceAll(sql, "$RANGE", inRange)
		sql = strings.ReplaceAll(sql, "$KEY", key)
		return Query{Name: name, Description: description, SQL: strings.TrimSpace(sql), Params: params}
	}
	return []Query{
		q("TopTalkers", "Source and destination pairs by bytes, OK records only",
			`
SELECT srcaddr, dstaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS records
FROM flow_logs
WHERE $RANGE AND log_status = 'OK'
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr, dstaddr
LIMIT 20`, paramFrom, paramTo),
		q("RejectedBySource", "Rejected records by source address",
			`
SELECT srcaddr, count(*) AS records, sum(packets) AS packets, sum(bytes) AS bytes
FROM flow_logs
WHERE $RANGE AND action = 'REJECT'
GROUP BY srcaddr
ORDER BY records DESC, srcaddr
LIMIT 20`, paramFrom, paramTo),
		q("RejectedPortScans", "Sources whose rejected traffic reached many distinct destination ports: scans",
			`
SELECT srcaddr, count(DISTINCT dstport) AS ports, count(DISTINCT dstaddr) AS targets, count(*) AS records
FROM flow_logs
WHERE $RANGE AND action = 'REJECT'
GROUP BY srcaddr
HAVING count(DISTINCT dstport) >= ?
ORDER BY ports DESC, srcaddr
LIMIT 50`, paramFrom, paramTo, "the least number of distinct destination ports, unquoted: 10"),
		q("InterfaceTraffic", "The traffic of one network interface by peer, port and action",
			`
SELECT srcaddr, dstaddr, dstport, protocol, action, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS records
FROM flow_logs
WHERE $RANGE AND interface_id = ?
GROUP BY srcaddr, dstaddr, dstport, protocol, action
ORDER BY bytes DESC, srcaddr, dstaddr, dstport, protocol, action
LIMIT 100`, paramFrom, paramTo, "the interface id, quoted: 'eni-0123456789abcdef0'"),
		q("SkipDataWindows", "Capture windows whose records AWS lost (SKIPDATA): traffic missing from every total",
			`
SELECT interface_id, start, "end", count(*) AS records
FROM flow_logs
WHERE $RANGE AND log_status = 'SKIPDATA'
GROUP BY interface_id, start, "end"
ORDER BY start, interface_id, "end"`, paramFrom, paramTo),
		q("NewInterfaces", "Interfaces first seen in [from, to), looking back to an earlier partition",
			`
SELECT interface_id, min(start) AS first_start, count(*) AS records
FROM flow_logs
WHERE $KEY >= ? AND $KEY < ? AND interface_id IS NOT NULL
GROUP BY interface_id
HAVING min($KEY) >= ?
ORDER BY first_start, interface_id`, "lookback: the first partition to look back to, same form as from", paramTo, paramFrom),
	}
}
