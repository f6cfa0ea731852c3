// Package metrics writes CloudWatch embedded metric format (EMF) lines: one
// JSON object per line on the function's standard output, which CloudWatch
// Logs turns into metrics without any PutMetricData call or permission.
package metrics
