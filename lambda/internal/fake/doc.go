// Package fake holds small in-memory fakes of the consumer-side AWS
// interfaces, for tests about our logic given an answer: a per-item
// failure in Unsuccessful, a whole-call error, the calls a batch split
// makes. Each call is a MockedFunction that records its inputs and answers
// with queued outputs or errors, or, when none is queued, with the test's
// default (the pattern of karpenter's pkg/fake).
//
// A fake answers only what its author imagined. AWS behaviour (pagination
// as EC2 does it, filters, tags, a real service's state) is tested against
// moto over HTTP through lambda/internal/motoproxy instead.
package fake
