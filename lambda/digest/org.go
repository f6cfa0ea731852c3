package digest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Organization-level metrics of a roll-up, without dimensions: the
// per-account detail is in the roll-up and the logs.
const (
	MetricDigestedAccountRegions   = "DigestedAccountRegions"
	MetricUnreadableAccountRegions = "UnreadableAccountRegions"
)

// sqsBatchSize is SendMessageBatch's limit of entries a call.
const sqsBatchSize = 10

// maxMessageBytes bounds a work message body read from the queue: a valid
// one is under 150 bytes.
const maxMessageBytes = 1024

// QueueAPI is the part of SQS the summarizer calls: the tick sends, and a
// message that failed for a reason that may pass is made visible again
// soon (org.QuickRetry). *sqs.Client satisfies it.
type QueueAPI interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	org.VisibilityAPI
}

// SpokeFunc returns the CloudWatch Logs and EC2 clients of one spoke
// account-region, acting as the spoke's reader role. It may fail (the
// role cannot be assumed): the account-region is then reported.
type SpokeFunc func(ctx context.Context, account, region string) (LogsAPI, EC2API, error)

// OrgClients are the hub's clients in organization mode.
type OrgClients struct {
	// Logs writes the digests and roll-ups to the hub's digest group.
	Logs LogsAPI
	// State is the hub's run state table: checkpoints and runs.
	State         runstate.RunAPI
	Topic         TopicAPI // nil without a topic
	Organizations org.OrganizationsAPI
	Queue         QueueAPI
	Spoke         SpokeFunc
	// S3 reads the central bucket in the hub account when Config.S3 is
	// set (orgs3.go); unused otherwise.
	S3 S3API
}

// Org is the summarizer in organization mode: a schedule tick starts a run
// and enqueues one message per ACTIVE account × region; each message
// digests one account-region as a single-account run would, with the
// spoke's clients, and the last account-region of a run writes the
// organization roll-up. DIGEST.md ("Organization mode") describes it.
type Org struct {
	cfg  Config
	org  settings.SummarizerOrg
	c    OrgClients
	runs *runstate.RunStore
	// MaxReceives is the delivery on which a failing account-region is
	// recorded as failed (the queue's maxReceiveCount).
	maxReceives int
	// retry brings a message that failed for a reason that may pass back
	// soon (retrySoon).
	retry org.QuickRetry
}

// NewOrg returns the organization-mode summarizer. cfg is the single-account
// configuration: its Account and Region are the hub's.
func NewOrg(cfg Config, o settings.SummarizerOrg, c OrgClients) (*Org, error) {
	cfg = cfg.withDefaults()
	switch {
	case !o.Enabled():
		return nil, errors.New("creating the organization summarizer: no organization id")
	case c.Logs == nil || c.State == nil || c.Organizations == nil || c.Queue == nil || c.Spoke == nil:
		return nil, errors.New("creating the organization summarizer: a client is missing")
	case cfg.TopicARN != "" && c.Topic == nil:
		return nil, errors.New("creating the organization summarizer: a topic ARN is set but no SNS client")
	case cfg.S3 != nil && c.S3 == nil:
		return nil, errors.New("creating the organization summarizer: S3 mode but no S3 client")
	}
	if cfg.MetricsOutput == nil {
		cfg.MetricsOutput = os.Stdout
	}
	runs, err := runstate.NewRunStore(c.State, cfg.StateTable, cfg.Account, cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("creating the organization summarizer: %w", err)
	}
	return &Org{cfg: cfg, org: o, c: c, runs: runs, maxReceives: settings.DigestQueueMaxReceiveCount,
		retry: org.QuickRetry{Queue: c.Queue, QueueURL: o.QueueURL}}, nil
}

// SetMaxReceives changes the delivery on which a failure is final, for
// tests; it must equal the queue's maxReceiveCount.
func (o *Org) SetMaxReceives(n int) { o.maxReceives = max(n, 1) }

// SetRetryDelay changes the window a message that failed for a reason that
// may pass waits in (org.DefaultRetryDelayMin and Max), for tests.
func (o *Org) SetRetryDelay(lo, hi time.Duration) { o.retry.Min, o.retry.Max = lo, hi }

// WorkMessage is the body of a summarizer work queue message.
type WorkMessage struct {
	RunID   string `json:"runId"`
	Account string `json:"account"`
	Region  string `json:"region"`
}

// parseWorkMessage reads and checks a message body: anyone who can send
// to the queue could have written it.
func parseWorkMessage(body string) (WorkMessage, error) {
	if len(body) > maxMessageBytes {
		return WorkMessage{}, fmt.Errorf("a body of %d bytes, the limit is %d", len(body), maxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	var m WorkMessage
	if err := dec.Decode(&m); err != nil {
		return WorkMessage{}, fmt.Errorf("decoding the body: %w", err)
	}
	if dec.More() {
		return WorkMessage{}, errors.New("decoding the body: text after the JSON object")
	}
	return m, errors.Join(runstate.ValidateRunID(m.RunID), settings.ValidateAccountID(m.Account), settings.ValidateRegion(m.Region))
}

// Handle is the function's handler: an SQS event carries work messages;
// anything else is the schedule's tick.
func (o *Org) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
		DetailType string    `json:"detail-type"`
		ID         string    `json:"id"`
		Time       time.Time `json:"time"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("decoding the invocation: %w", err)
	}
	if len(probe.Records) > 0 {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decoding the SQS event: %w", err)
		}
		return o.HandleMessages(ctx, ev)
	}
	if probe.DetailType != "" && probe.DetailType != "Scheduled Event" {
		return nil, fmt.Errorf("refusing an invocation of detail-type %q: want the schedule's or an SQS event", capRunes(probe.DetailType, 64))
	}
	return o.tick(ctx, probe.ID, probe.Time)
}

// TickResult is what a tick did.
type TickResult struct {
	RunID           string `json:"runId"`
	Accounts        int    `json:"accounts"`
	Regions         int    `json:"regions"`
	Messages        int    `json:"messages"`
	InactiveSkipped int    `json:"inactiveAccounts"`
}

// Tick starts a run: it lists the organization's ACTIVE accounts under the
// targets, records the run, and enqueues one message per account × region.
// It first writes the roll-up of the previous run if that run has none yet
// (its last messages are still being retried, or crashed), listing the
// account-regions without an outcome.
func (o *Org) Tick(ctx context.Context) (TickResult, error) { return o.tick(ctx, "", time.Time{}) }

// tick is Tick for a schedule event: a run started by an event takes its
// id from the event, so that the event delivered twice starts one run.
func (o *Org) tick(ctx context.Context, eventID string, at time.Time) (TickResult, error) {
	now := o.cfg.Now().UTC()
	var res TickResult
	var err error
	if eventID != "" && !at.IsZero() {
		res.RunID = runstate.RunIDFor(at, eventID)
	} else if res.RunID, err = runstate.NewRunID(now); err != nil {
		return res, err
	}
	o.finishPrevious(ctx, res.RunID)
	d, err := org.Discover(ctx, o.c.Organizations, o.org.Targets)
	if err != nil {
		return TickResult{}, fmt.Errorf("starting a digest run: %w", err)
	}
	accounts := d.IDs()
	res.Accounts, res.Regions, res.InactiveSkipped = len(accounts), len(o.org.Regions), d.Inactive
	if len(accounts) == 0 {
		slog.WarnContext(ctx, "no ACTIVE account under the targets: no digest run", "targets", o.org.Targets)
		return res, nil
	}
	run := runstate.OrgRun{ID: res.RunID, Accounts: accounts, Regions: slices.Clone(o.org.Regions), StartedAt: now}
	if err := o.runs.Create(ctx, run); err != nil {
		if runstate.IsExists(err) {
			slog.WarnContext(ctx, "this schedule event already started its run; not starting it again", "runId", res.RunID)
			return res, nil
		}
		return res, err
	}
	if err := o.runs.SetLatest(ctx, res.RunID); err != nil {
		return res, err
	}
	res.Messages, err = o.enqueue(ctx, run)
	slog.InfoContext(ctx, "digest run started", "runId", res.RunID, "accounts", res.Accounts, "regions", res.Regions,
		"messages", res.Messages, "inactiveAccounts", d.Inactive)
	return res, err
}

// enqueue sends one message per account-region, ten a call, retrying the
// entries SQS reports failed (twice) before failing the tick.
func (o *Org) enqueue(ctx context.Context, run runstate.OrgRun) (int, error) {
	var entries []sqstypes.SendMessageBatchRequestEntry
	for _, ar := range org.Cross(run.Accounts, run.Regions) {
		body, err := json.Marshal(WorkMessage{RunID: run.ID, Account: ar.Account, Region: ar.Region})
		if err != nil {
			return 0, fmt.Errorf("encoding the message of %s: %w", ar, err)
		}
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(len(entries))), MessageBody: aws.String(string(body))})
	}
	sent := 0
	for batch := range slices.Chunk(entries, sqsBatchSize) {
		n, err := o.sendBatch(ctx, batch)
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func (o *Org) sendBatch(ctx context.Context, batch []sqstypes.SendMessageBatchRequestEntry) (int, error) {
	byID := map[string]sqstypes.SendMessageBatchRequestEntry{}
	for _, e := range batch {
		byID[aws.ToString(e.Id)] = e
	}
	sent := 0
	for attempt := 1; ; attempt++ {
		out, err := o.c.Queue.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(o.org.QueueURL), Entries: batch})
		if err != nil {
			return sent, fmt.Errorf("enqueueing %d account-regions to %s: %w", len(batch), o.org.QueueURL, err)
		}
		sent += len(out.Successful)
		if len(out.Failed) == 0 {
			return sent, nil
		}
		f := out.Failed[0]
		if attempt == 3 {
			return sent, fmt.Errorf("enqueueing to %s: %d messages failed, the first %s: %s %s", o.org.QueueURL, len(out.Failed),
				aws.ToString(byID[aws.ToString(f.Id)].MessageBody), aws.ToString(f.Code), aws.ToString(f.Message))
		}
		batch = batch[:0:0]
		for _, f := range out.Failed {
			batch = append(batch, byID[aws.ToString(f.Id)])
		}
	}
}

// HandleMessages digests the account-region of each message. A message
// whose account-region failed is reported back for SQS to deliver again,
// until the last delivery records the failure in the run; an invalid
// message is logged and dropped. A failure that may pass comes back after
// a short, jittered delay (retrySoon), any other after the queue's
// visibility timeout.
func (o *Org) HandleMessages(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		if err := o.handleMessage(ctx, rec); err != nil {
			class := org.Classify(err)
			var after time.Duration
			if retrySoon(class) {
				after = o.retry.After(ctx, rec)
			}
			slog.ErrorContext(ctx, "account-region not done; SQS delivers it again", "messageId", rec.MessageId, "error", err,
				"class", class, "retryAfterSeconds", int(after/time.Second), "transient", after > 0)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// retrySoon reports whether a message that failed with class comes back
// soon: a failure that may pass (throttling, anything unclassified,
// such as the run state's store) or a spoke reader role that cannot be
// assumed yet (its StackSet instance still deploying). Unlike the
// enabler, which records a missing role in the sweep at once, the
// summarizer records any failure only on the message's last delivery, so
// a role that stays missing costs a few AssumeRole calls within minutes
// and lets the run's roll-up name it then rather than hours later. A
// denied call or a region not enabled needs someone to act: it keeps the
// queue's timeout.
func retrySoon(class org.Class) bool {
	return class.MayPass() || class == org.ClassRoleUnavailable
}

func (o *Org) handleMessage(ctx context.Context, rec events.SQSMessage) error {
	m, err := parseWorkMessage(rec.Body)
	if err != nil {
		slog.ErrorContext(ctx, "dropping an invalid work message", "messageId", rec.MessageId, "reason", err)
		return nil
	}
	run, ok, err := o.runs.Load(ctx, m.RunID)
	if err != nil {
		return err
	}
	if !ok || !slices.Contains(run.Accounts, m.Account) || !slices.Contains(run.Regions, m.Region) {
		slog.ErrorContext(ctx, "dropping a work message for no account-region of a known run", "runId", m.RunID, "account", m.Account, "region", m.Region)
		return nil
	}
	done, err := o.runs.HasMember(ctx, m.RunID, m.Account, m.Region)
	if err != nil {
		return err
	}
	if !done {
		if err := o.digestMember(ctx, rec, m); err != nil {
			return err
		}
	}
	return o.finishRun(ctx, m.RunID, m.Account+"#"+m.Region)
}

// digestMember digests one account-region and records its outcome in the
// run; a failure is recorded only on the last delivery.
func (o *Org) digestMember(ctx context.Context, rec events.SQSMessage, m WorkMessage) error {
	started := time.Now()
	res, err := o.digestOne(ctx, m)
	if err != nil {
		out := org.NewOutcome(org.AccountRegion{Account: m.Account, Region: m.Region}, err, time.Since(started))
		receives, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
		slog.ErrorContext(ctx, "digesting an account-region failed", "account", m.Account, "region", m.Region,
			"class", out.Class, "code", out.Code, "reason", out.Reason, "delivery", receives, "lastDelivery", o.maxReceives)
		failed := &MemberSummary{Status: StatusFailed, Class: string(out.Class), Code: out.Code, Reason: out.Reason, Delivery: receives}
		if receives < o.maxReceives {
			o.recordAttempt(ctx, m, failed)
			return err
		}
		return o.record(ctx, m, failed)
	}
	if res.Empty || res.To.Equal(res.From) {
		// No digest, so OnDigest recorded nothing; a digest adopted from
		// an earlier attempt of this run was recorded by it, and this
		// write then finds the member there.
		return o.record(ctx, m, &MemberSummary{Status: StatusNoWindow})
	}
	return nil
}

// digestOne runs the single-account digest of m's account-region with the
// spoke's clients, the hub's run state and the hub's digest group.
func (o *Org) digestOne(ctx context.Context, m WorkMessage) (Result, error) {
	logs, ec2, err := o.c.Spoke(ctx, m.Account, m.Region)
	if err != nil {
		return Result{}, err
	}
	if err := o.probe(ctx, logs, ec2, m); err != nil {
		return Result{}, err
	}
	cfg := o.cfg
	cfg.Account, cfg.Region = m.Account, m.Region
	cfg.S3 = memberS3Source(o.cfg.S3, m)
	cfg.DigestStream = m.Account + "/" + m.Region
	cfg.OrgRunID = m.RunID
	cfg.TopicARN = "" // SNS gets the roll-up, not 17,000 messages an hour
	// One run's deliveries never use up a window's failure budget: a
	// window is given up (an incomplete digest) only by a later run, so a
	// spoke throttled or denied for an hour loses no records.
	cfg.MaxAttempts = max(cfg.MaxAttempts, o.maxReceives+1)
	cfg.OnDigest = func(ctx context.Context, d *Digest) error { return o.onDigest(ctx, m, d) }
	s, err := New(cfg, Clients{Logs: logs, EC2: ec2, State: o.c.State, DigestLogs: o.c.Logs, S3: o.c.S3})
	if err != nil {
		return Result{}, err
	}
	return s.Run(ctx)
}

// onDigest records a digest in its run. A digest adopted from an earlier
// run's failed attempt belongs to that run: it is recorded there when that
// run still lacks the account-region, and a failure to do so is only
// logged, so that an old run cannot stop this one.
func (o *Org) onDigest(ctx context.Context, m WorkMessage, d *Digest) error {
	if d.OrgRun == "" || d.Account != m.Account || d.Region != m.Region {
		return nil // written in single-account mode, or not this account-region's
	}
	err := o.record(ctx, WorkMessage{RunID: d.OrgRun, Account: m.Account, Region: m.Region}, ptr(memberOf(d, o.cfg.TopK)))
	if err != nil && d.OrgRun != m.RunID {
		slog.WarnContext(ctx, "could not record an adopted digest in its run", "runId", d.OrgRun, "error", err)
		return nil
	}
	return err
}

func ptr[T any](v T) *T { return &v }

// recordAttempt keeps a failed delivery's outcome for a roll-up written
// before the last delivery; a failure to keep it is only logged: SQS
// delivers the message again either way.
func (o *Org) recordAttempt(ctx context.Context, m WorkMessage, s *MemberSummary) {
	body, err := s.encode()
	if err == nil {
		err = o.runs.RecordAttempt(ctx, m.RunID, m.Account, m.Region, body)
	}
	if err != nil {
		slog.ErrorContext(ctx, "keeping the failed attempt's outcome failed", "runId", m.RunID, "account", m.Account, "region", m.Region, "error", err)
	}
}

func (o *Org) record(ctx context.Context, m WorkMessage, s *MemberSummary) error {
	body, err := s.encode()
	if err != nil {
		return err
	}
	recorded, err := o.runs.Record(ctx, m.RunID, m.Account, m.Region, body)
	if err != nil {
		return err
	}
	slog.InfoContext(ctx, "account-region recorded in its run", "runId", m.RunID, "account", m.Account, "region", m.Region,
		"status", s.Status, "new", recorded)
	return nil
}
