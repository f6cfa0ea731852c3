package e2e

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// AlarmPlay plays CloudWatch's part in the template's alarms, which moto
// 5.2.1 does not: moto stores PutMetricAlarm and PutMetricData and answers
// GetMetricData, but it never evaluates an alarm, and nothing in moto turns
// the functions' embedded metric format (EMF) lines into metrics, as
// CloudWatch Logs does in AWS. So the play:
//   - creates each AWS::CloudWatch::Alarm of the template in moto
//     (PutMetricAlarm with its metric, statistic, period, threshold,
//     comparison, M of N and TreatMissingData);
//   - publishes the EMF lines the watched functions printed under the
//     emulator (PutMetricData, same namespace, name, dimensions, unit and
//     timestamp), Lambda's Invocations and Errors of each invocation
//     (FunctionName dimension), and, for the AWS/SQS alarms, the queue's
//     ApproximateNumberOfMessagesVisible read from GetQueueAttributes, as
//     SQS publishes it every minute;
//   - evaluates each alarm from moto's datapoints (GetMetricData over the
//     last EvaluationPeriods periods, EvaluateAlarm) and sets its state in
//     moto (SetAlarmState), where DescribeAlarms reads it.
//
// Offset dates what is published and when alarms are evaluated: a story
// plays hours of schedules in minutes, and an alarm's period (six hours for
// the sweep's) decides which runs it sees. CloudWatch Logs takes the EMF
// Timestamp as the datapoint's time, so shifting it is the one change.
type AlarmPlay struct {
	CW  *cloudwatch.Client
	SQS *sqs.Client
	// Specs are the template's alarms; Queues the URL of each queue an
	// AWS/SQS alarm names, by QueueName.
	Specs  []AlarmSpec
	Queues map[string]string
	// Offset is added to the real time of everything published from now
	// on, and to the time of the evaluations.
	Offset time.Duration
	// Published counts the datapoints published so far.
	Published int

	mu      sync.Mutex
	read    map[*Function]int
	pending []MetricDatum
}

// AlarmState is an alarm's state as DescribeAlarms answers it.
type AlarmState struct {
	Name, State, Reason string
}

// NewAlarmPlay creates the template's alarms of s in moto at url, as
// CloudFormation would, and returns the play.
func NewAlarmPlay(ctx context.Context, url string, s *Stack, sqsClient *sqs.Client) (*AlarmPlay, error) {
	cfg := testenv.AWSConfig(url)
	cfg.Region = s.Names.Region
	// This SDK speaks CloudWatch's Smithy RPC v2 CBOR protocol by default,
	// which moto 5.2.1 does not serve (HTTP 404); CloudWatch also takes the
	// Query protocol, which moto serves.
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	})
	a := &AlarmPlay{CW: cw, SQS: sqsClient, Queues: map[string]string{}, read: map[*Function]int{}}
	for _, r := range s.Template.OfType("AWS::CloudWatch::Alarm") {
		props, err := s.Names.Resolve(r.Properties)
		if err != nil {
			return nil, fmt.Errorf("resolving the properties of %s: %w", r.Path(), err)
		}
		p, _ := props.(map[string]any)
		name := str(p["AlarmName"])
		if name == "" {
			name = s.Names.Ref[r.LogicalID]
		}
		spec, err := ParseAlarm(alarmID(r), name, p)
		if err != nil {
			return nil, err
		}
		if err := a.create(ctx, spec, str(p["AlarmDescription"])); err != nil {
			return nil, err
		}
		for _, d := range spec.Dimensions {
			if spec.Namespace == "AWS/SQS" && d.Name == "QueueName" {
				a.Queues[d.Value] = QueueURL(s.Names.Region, s.Names.Account, d.Value)
			}
		}
		a.Specs = append(a.Specs, spec)
	}
	return a, nil
}

// alarmID is the alarm's construct id without "Alarm": the construct path
// ".../UnreachableAccountRegionsAlarm/Resource" gives
// UnreachableAccountRegions.
func alarmID(r *Resource) string {
	parts := strings.Split(r.Path(), "/")
	if len(parts) < 2 {
		return r.LogicalID
	}
	return strings.TrimSuffix(parts[len(parts)-2], "Alarm")
}

func (a *AlarmPlay) create(ctx context.Context, s AlarmSpec, description string) error {
	in := &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(s.Name), AlarmDescription: aws.String(description),
		Namespace: aws.String(s.Namespace), MetricName: aws.String(s.MetricName), Statistic: cwtypes.Statistic(s.Statistic),
		Dimensions: cwDimensions(s.Dimensions), Period: aws.Int32(int32(s.Period.Seconds())),
		EvaluationPeriods: aws.Int32(int32(s.EvaluationPeriods)), DatapointsToAlarm: aws.Int32(int32(s.DatapointsToAlarm)),
		Threshold: aws.Float64(s.Threshold), ComparisonOperator: cwtypes.ComparisonOperator(s.Comparison),
		TreatMissingData: aws.String(s.TreatMissingData),
	}
	if _, err := a.CW.PutMetricAlarm(ctx, in); err != nil {
		return fmt.Errorf("creating alarm %s: %w", s.Name, err)
	}
	// CloudWatch starts a new alarm in INSUFFICIENT_DATA; moto 5.2.1 starts
	// it in OK, which an alarm that ignores missing data would then keep.
	if _, err := a.CW.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(s.Name), StateValue: cwtypes.StateValueInsufficientData, StateReason: aws.String("Unchecked: Initial alarm creation"),
	}); err != nil {
		return fmt.Errorf("setting the initial state of alarm %s: %w", s.Name, err)
	}
	return nil
}

func cwDimensions(ds []Dimension) []cwtypes.Dimension {
	out := make([]cwtypes.Dimension, 0, len(ds))
	for _, d := range ds {
		out = append(out, cwtypes.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)})
	}
	return out
}

// Watch publishes, from now on, what fns print and Lambda's metrics of
// their invocations. What they printed before is left out.
func (a *AlarmPlay) Watch(fns ...*Function) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range fns {
		a.read[f] = len(f.Log())
		f.invoked = func(at time.Time, failed bool) { a.invocation(f.Name, at, failed) }
	}
}

// invocation records Lambda's metrics of one invocation: Invocations 1 and
// Errors 1 or 0, by FunctionName.
func (a *AlarmPlay) invocation(fn string, at time.Time, failed bool) {
	errs := 0.0
	if failed {
		errs = 1
	}
	dims := []Dimension{{"FunctionName", fn}}
	a.mu.Lock()
	defer a.mu.Unlock()
	at = at.Add(a.Offset)
	a.pending = append(a.pending,
		MetricDatum{Namespace: "AWS/Lambda", Name: "Invocations", Unit: "Count", Dimensions: dims, Value: 1, Time: at},
		MetricDatum{Namespace: "AWS/Lambda", Name: "Errors", Unit: "Count", Dimensions: dims, Value: errs, Time: at})
}

// Record adds datapoints to publish, dated their Time plus Offset: what
// another part of the harness plays (or a test) puts as CloudWatch would.
func (a *AlarmPlay) Record(data ...MetricDatum) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range data {
		d.Time = d.Time.Add(a.Offset)
		a.pending = append(a.pending, d)
	}
}

// Publish puts into moto what CloudWatch would have by now: the watched
// functions' new EMF lines, the invocations' metrics, and the SQS queues'
// depth.
func (a *AlarmPlay) Publish(ctx context.Context) error {
	a.quiet(ctx)
	data, err := a.collect()
	if err != nil {
		return err
	}
	at := time.Now().Add(a.Offset)
	for _, name := range alarmKeys(a.Queues) {
		depth, err := QueueDepth(ctx, a.SQS, a.Queues[name])
		if err != nil {
			return err
		}
		data = append(data, MetricDatum{Namespace: "AWS/SQS", Name: "ApproximateNumberOfMessagesVisible", Unit: "Count",
			Dimensions: []Dimension{{"QueueName", name}}, Value: float64(depth), Time: at})
	}
	return a.put(ctx, data)
}

// quiet waits until the watched functions' output stops growing: the
// emulator relays what a function prints after its invocation has
// answered, so a line can arrive just after the answer.
func (a *AlarmPlay) quiet(ctx context.Context) {
	size := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		n := 0
		for f := range a.read {
			n += len(f.Log())
		}
		return n
	}
	last := size()
	for range 20 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(150 * time.Millisecond):
		}
		n := size()
		if n == last {
			return
		}
		last = n
	}
}

// collect takes the EMF lines printed since the last collection, each
// dated its Timestamp plus Offset, and the pending invocations.
func (a *AlarmPlay) collect() ([]MetricDatum, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.pending
	a.pending = nil
	for f, from := range a.read {
		log := f.Log()
		end := strings.LastIndexByte(log[from:], '\n') + from + 1
		for _, line := range strings.Split(log[from:end], "\n") {
			brace := strings.IndexByte(line, '{')
			if brace < 0 || !strings.Contains(line, `"_aws"`) {
				continue
			}
			// The emulator prints the function's lines as they are; trim
			// any prefix before the object.
			ds, err := ParseEMF(bytes.TrimSpace([]byte(line[brace:])))
			if err != nil {
				return nil, fmt.Errorf("the metrics of %s: %w", f.Name, err)
			}
			for _, d := range ds {
				d.Time = d.Time.Add(a.Offset)
				out = append(out, d)
			}
		}
		a.read[f] = end
	}
	return out, nil
}

// put publishes data with PutMetricData, by namespace, at most 1,000 a
// call (the API's limit).
func (a *AlarmPlay) put(ctx context.Context, data []MetricDatum) error {
	byNS := map[string][]cwtypes.MetricDatum{}
	for _, d := range data {
		byNS[d.Namespace] = append(byNS[d.Namespace], cwtypes.MetricDatum{
			MetricName: aws.String(d.Name), Value: aws.Float64(d.Value), Unit: cwtypes.StandardUnit(d.Unit),
			Timestamp: aws.Time(d.Time), Dimensions: cwDimensions(d.Dimensions),
		})
	}
	for _, ns := range alarmKeys(byNS) {
		all := byNS[ns]
		for len(all) > 0 {
			n := min(len(all), 1000)
			if _, err := a.CW.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: all[:n]}); err != nil {
				return fmt.Errorf("publishing %d datapoints of %s: %w", n, ns, err)
			}
			a.Published += n
			all = all[n:]
		}
	}
	return nil
}

// Evaluate evaluates every alarm at now plus Offset from moto's
// datapoints, sets each state in moto, and returns the states as
// DescribeAlarms reads them back, by alarm ID.
func (a *AlarmPlay) Evaluate(ctx context.Context) (map[string]AlarmState, error) {
	// Moto keeps whole seconds of the range and leaves out datapoints at
	// or after its end: the next whole second includes everything
	// published so far.
	at := time.Now().Add(a.Offset).Truncate(time.Second).Add(time.Second)
	before, err := a.describe(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range a.Specs {
		points, err := a.datapoints(ctx, s, at)
		if err != nil {
			return nil, err
		}
		state, reason := EvaluateAlarm(s, points, at, before[s.ID].State)
		if _, err := a.CW.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
			AlarmName: aws.String(s.Name), StateValue: cwtypes.StateValue(state), StateReason: aws.String(truncate(reason, 1023)),
		}); err != nil {
			return nil, fmt.Errorf("setting the state of %s: %w", s.Name, err)
		}
	}
	return a.describe(ctx)
}

// Settle publishes, then evaluates.
func (a *AlarmPlay) Settle(ctx context.Context) (map[string]AlarmState, error) {
	if err := a.Publish(ctx); err != nil {
		return nil, err
	}
	return a.Evaluate(ctx)
}

// datapoints asks moto for the alarm's statistic of each period of its
// evaluation range ending at at.
func (a *AlarmPlay) datapoints(ctx context.Context, s AlarmSpec, at time.Time) ([]Datapoint, error) {
	out, err := a.CW.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(at.Add(-time.Duration(s.EvaluationPeriods) * s.Period)), EndTime: aws.Time(at),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("m0"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(s.Namespace), MetricName: aws.String(s.MetricName), Dimensions: cwDimensions(s.Dimensions)},
			Period: aws.Int32(int32(s.Period.Seconds())), Stat: aws.String(s.Statistic),
		}}},
	})
	if err != nil {
		return nil, fmt.Errorf("reading the datapoints of %s: %w", s.Name, err)
	}
	var points []Datapoint
	for _, r := range out.MetricDataResults {
		if len(r.Timestamps) != len(r.Values) {
			return nil, fmt.Errorf("reading the datapoints of %s: %d timestamps, %d values", s.Name, len(r.Timestamps), len(r.Values))
		}
		for i := range r.Values {
			points = append(points, Datapoint{Start: r.Timestamps[i], Value: r.Values[i]})
		}
	}
	return points, nil
}

// describe reads every alarm's state from moto, by ID.
func (a *AlarmPlay) describe(ctx context.Context) (map[string]AlarmState, error) {
	byName := map[string]AlarmState{}
	p := cloudwatch.NewDescribeAlarmsPaginator(a.CW, &cloudwatch.DescribeAlarmsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing the alarms: %w", err)
		}
		for _, m := range page.MetricAlarms {
			name := aws.ToString(m.AlarmName)
			byName[name] = AlarmState{Name: name, State: string(m.StateValue), Reason: aws.ToString(m.StateReason)}
		}
	}
	out := map[string]AlarmState{}
	for _, s := range a.Specs {
		st, ok := byName[s.Name]
		if !ok {
			return nil, fmt.Errorf("alarm %s is not in moto", s.Name)
		}
		out[s.ID] = st
	}
	return out, nil
}

// Redrive moves every message of the dead-letter queue dlq back to the
// queue url, as an operator does once the cause is fixed (SQS's redrive,
// played by receive, send, delete). It returns how many it moved.
func Redrive(ctx context.Context, c *sqs.Client, dlq, url string) (int, error) {
	moved := 0
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10})
		if err != nil {
			return moved, fmt.Errorf("receiving from %s: %w", dlq, err)
		}
		if len(out.Messages) == 0 {
			return moved, nil
		}
		for _, m := range out.Messages {
			if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: m.Body}); err != nil {
				return moved, fmt.Errorf("sending to %s: %w", url, err)
			}
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(dlq), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return moved, fmt.Errorf("deleting from %s: %w", dlq, err)
			}
			moved++
		}
	}
}

// FormatAlarms is the states one line each, sorted by ID, for a report.
func FormatAlarms(states map[string]AlarmState) []string {
	out := make([]string, 0, len(states))
	for _, id := range alarmKeys(states) {
		out = append(out, fmt.Sprintf("%-26s %-17s %s", id, states[id].State, states[id].Reason))
	}
	return out
}

func alarmKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
