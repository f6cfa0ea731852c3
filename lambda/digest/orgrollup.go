package digest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// finishRun writes the run's roll-up when every account-region has
// finished and claimer wins the claim on it. A claimer whose message comes
// again (it crashed after claiming) wins again and writes it.
func (o *Org) finishRun(ctx context.Context, runID, claimer string) error {
	run, ok, err := o.runs.Load(ctx, runID)
	if err != nil || !ok || run.Finished < run.Expected() || !run.RollupAt.IsZero() {
		return err
	}
	won, err := o.runs.Claim(ctx, runID, claimer)
	if err != nil || !won {
		return err
	}
	r, err := o.BuildRollup(ctx, run, false)
	if err != nil {
		return err
	}
	return o.publishRollup(ctx, run, &r)
}

// finishPrevious writes the roll-up of the hub's previous run when it has
// none yet, listing the account-regions without an outcome; a failure is
// logged and does not stop the new run.
func (o *Org) finishPrevious(ctx context.Context, next string) {
	err := func() error {
		prev, err := o.runs.Latest(ctx)
		if err != nil || prev == "" || prev == next {
			return err
		}
		run, ok, err := o.runs.Load(ctx, prev)
		if err != nil || !ok || !run.RollupAt.IsZero() {
			return err
		}
		won, err := o.runs.Claim(ctx, prev, "next-run:"+next)
		if err != nil || !won {
			return err
		}
		slog.WarnContext(ctx, "the previous run did not finish; writing its roll-up", "runId", prev,
			"finished", run.Finished, "expected", run.Expected())
		r, err := o.BuildRollup(ctx, run, true)
		if err != nil {
			return err
		}
		return o.publishRollup(ctx, run, &r)
	}()
	if err != nil {
		slog.ErrorContext(ctx, "writing the previous run's roll-up failed", "error", err)
	}
}

// BuildRollup reads the run's account-region summaries, a page at a time,
// and merges them. With incomplete, the account-regions without one are
// listed as unreadable (for a run whose last messages never finished).
func (o *Org) BuildRollup(ctx context.Context, run runstate.OrgRun, incomplete bool) (Rollup, error) {
	b := newRollupBuilder(run, o.org.OrganizationID, o.cfg.TopK, o.cfg.Now())
	if err := o.runs.Members(ctx, run.ID, func(account, region string, summary []byte) error {
		b.add(account, region, summary)
		return nil
	}); err != nil {
		return Rollup{}, err
	}
	if incomplete {
		attempts := map[string]MemberSummary{}
		if err := o.runs.Attempts(ctx, run.ID, func(account, region string, summary []byte) error {
			var m MemberSummary
			if json.Unmarshal(summary, &m) == nil && b.expected[account+"#"+region] {
				attempts[account+"#"+region] = m
			}
			return nil
		}); err != nil {
			return Rollup{}, err
		}
		b.missing(attempts)
	}
	if b.unlisted > 0 {
		slog.WarnContext(ctx, "run items outside the run's accounts and regions ignored", "runId", run.ID, "count", b.unlisted)
	}
	return b.rollup(), nil
}

// publishRollup writes the roll-up to the digest group (stream
// organization), emits the organization's metrics, marks the run rolled
// up, and last publishes the text to SNS when a topic is set.
func (o *Org) publishRollup(ctx context.Context, run runstate.OrgRun, r *Rollup) error {
	body, err := r.encode(MaxDigestBytes)
	if err != nil {
		return err
	}
	if err := putEvent(ctx, o.c.Logs, o.cfg.SummaryLogGroupName, RollupStreamName, r.GeneratedAt, body); err != nil {
		return fmt.Errorf("writing the roll-up of run %s: %w", run.ID, err)
	}
	if err := metrics.Emit(o.cfg.MetricsOutput, o.cfg.MetricsNamespace, nil, r.GeneratedAt,
		metrics.Metric{Name: MetricDigestedAccountRegions, Value: float64(r.AccountRegions.Digested), Unit: metrics.Count},
		metrics.Metric{Name: MetricUnreadableAccountRegions, Value: float64(r.AccountRegions.Failed), Unit: metrics.Count},
	); err != nil {
		slog.ErrorContext(ctx, "emitting the roll-up's metrics failed", "error", err)
	}
	if err := o.runs.RolledUp(ctx, run.ID, r.GeneratedAt); err != nil {
		return err
	}
	slog.InfoContext(ctx, "organization roll-up written", "runId", run.ID, "digested", r.AccountRegions.Digested,
		"failed", r.AccountRegions.Failed, "records", r.Totals.Records, "bytes", len(body))
	if o.cfg.TopicARN == "" {
		return nil
	}
	if _, err := o.c.Topic.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(o.cfg.TopicARN), Subject: aws.String(r.Subject()), Message: aws.String(r.Text()),
	}); err != nil {
		return fmt.Errorf("publishing the roll-up of run %s to %s: %w", run.ID, o.cfg.TopicARN, err)
	}
	return nil
}

// putEvent writes body as one event to group's stream, creating the
// stream the first time.
func putEvent(ctx context.Context, api LogsAPI, group, stream string, at time.Time, body []byte) error {
	in := &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(group),
		LogStreamName: aws.String(stream),
		LogEvents:     []logstypes.InputLogEvent{{Message: aws.String(string(body)), Timestamp: aws.Int64(at.UnixMilli())}},
	}
	_, err := api.PutLogEvents(ctx, in)
	var nf *logstypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		_, cerr := api.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
		var exists *logstypes.ResourceAlreadyExistsException
		if cerr != nil && !errors.As(cerr, &exists) {
			return fmt.Errorf("creating log stream %s in %s: %w", stream, group, cerr)
		}
		_, err = api.PutLogEvents(ctx, in)
	}
	if err != nil {
		return fmt.Errorf("writing to %s stream %s: %w", group, stream, err)
	}
	return nil
}
