package athenaquery

import "strings"

// AccountParam describes the account parameter ForAccount adds.
const AccountParam = "account: the account id, quoted: '123456789012'"

// ForAccount returns the queries for a table whose account partition is
// injected (Table with no Accounts: an organization's accounts are not
// known at deployment). Athena refuses a query on such a table without a
// static equality on aws_account_id, so each query's WHERE starts with
// one, taking the account as its first parameter. Every query of Queries
// has exactly one WHERE.
func ForAccount(qs []Query) []Query {
	out := make([]Query, len(qs))
	for i, q := range qs {
		q.SQL = strings.Replace(q.SQL, "\nWHERE ", "\nWHERE aws_account_id = ? AND ", 1)
		q.Params = append([]string{AccountParam}, q.Params...)
		out[i] = q
	}
	return out
}
