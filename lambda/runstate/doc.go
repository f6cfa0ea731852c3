// Package runstate keeps the run state of the functions (today the
// summarizer's checkpoint) in a DynamoDB table that the stack owns and that
// only the functions' roles can write.
//
// Why a table and not the SSM parameter it replaces: the state decides which
// records are counted, so it must sit where no one else writes and where
// "advance the checkpoint once" is exact. A DynamoDB write can carry a
// condition (`version = :seen`, `attribute_not_exists(pk)` for the first), so
// two runs racing on one version cannot both win. SSM PutParameter has no
// conditional update, standard parameters are capped at 4 KB and 10,000 a
// region, and the organization mode will need one checkpoint per account,
// region and source; a table takes that without a new resource per source.
//
// Items are keyed pk = "<account>#<region>#<source>" (source e.g.
// "cwlogs:/vpc/flow-logs") and sk = "checkpoint"; later kinds of state take
// other sort keys (coverage#…, baseline#…). Every write sets version to the
// previous version plus one and records the run that wrote it (writtenBy), so
// that a write whose answer was lost and that the SDK retried is recognised
// as the run's own instead of a lost race.
//
// In organization mode the enabler's sweeps live in the same table
// (SweepStore, coverage.go): per sweep, under pk
// "<hub account>#<hub region>#sweep:<id>", a sweep item counting the
// finished account-regions and one coverage item per account-region,
// written with the counter's increment in one conditional transaction so
// that each account-region counts once; the finisher that sees the count
// complete claims the coverage document with a conditional write.
//
// Organization runs (RunStore, rollup.go) keep, per run of the summarizer
// in organization mode, one run item and one item per finished
// account-region, counted once by a conditional transaction, so that the
// last one to finish writes the roll-up; the enabler's sweeps do the same
// for coverage (SweepStore, coverage.go).
//
// Beside the checkpoint, the digest keeps bounded blobs (Blob, LoadBlob,
// SaveBlob): binary items of at most MaxBlobBytes under sort keys
// "baseline#<slot>" (a fixed ring of daily filters), "findings#history"
// and, in S3 mode, "interfaces#seen" (the interfaces already seen),
// written with the same version condition. Their layout is the digest's
// (lambda/digest/baseline.go, s3interfaces.go); the store never grows the
// number of items.
//
// The store declares the three calls it makes (API: GetItem, PutItem,
// UpdateItem), satisfied by *dynamodb.Client.
package runstate
