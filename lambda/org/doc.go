// Package org turns "the organization" into account-regions for the hub's
// two functions in organization mode: Discover lists the ACTIVE accounts
// under the configured targets (organizational units, recursively, or the
// root), Roles hands out credentials of a spoke role assumed once per
// account and shared across that account's regions, and ForEach runs a
// function over account-regions with bounded concurrency, returning one
// Outcome per account-region, classified (Classify) so that a role that is
// missing, a region that is not enabled or a throttled account is reported
// by name and never stops the others. QuickRetry brings a work message that
// failed for a reason that may pass (Class.MayPass) back after a jittered
// 30 to 120 s instead of its queue's visibility timeout.
//
// Everything Organizations answers is written by someone else (account
// names are chosen by whoever created the account): ids are checked
// against AWS's shape before they become keys, names are capped, and the
// listing is bounded (MaxAccounts, MaxOUs).
//
// lambda/reconcile (the enabler) and lambda/digest (the summarizer) use it;
// it knows nothing of flow logs.
package org
