package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// UnknownContextKeys checks the context's keys against those the app
// reads. A key that differs from one of them only in case (`-c
// tagkey=Team`) is an error: the value would be ignored and the default
// deployed in its place, the tag key of every VPC included. Any other key
// without a namespace (CDK's, its libraries' and the CLI's own hold a ':'
// or an '@', apart from the CLI's cliContextKeys) is returned as a
// warning, naming it: it may be a misspelling, or another tool's.
func UnknownContextKeys(all map[string]any) (warnings []string, err error) {
	var typos []string
	for _, key := range slices.Sorted(maps.Keys(all)) {
		if slices.Contains(contextKeys, key) || slices.Contains(cliContextKeys, key) || strings.ContainsAny(key, ":@") {
			continue
		}
		if i := slices.IndexFunc(contextKeys, func(k string) bool { return strings.EqualFold(k, key) }); i >= 0 {
			typos = append(typos, fmt.Sprintf("%q (the key is %s)", key, contextKeys[i]))
			continue
		}
		warnings = append(warnings, fmt.Sprintf("context key %q is not one the app reads; it is ignored", key))
	}
	if len(typos) > 0 {
		return warnings, fmt.Errorf("context keys are case-sensitive: %s", strings.Join(typos, ", "))
	}
	return warnings, nil
}

// cliContextKeys are the keys the CDK CLI writes into cdk.json itself
// (`cdk acknowledge`, `cdk cli-telemetry`).
var cliContextKeys = []string{"acknowledged-issue-numbers", "cli-telemetry"}
