package e2e_test

import (
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// alarmTemplate has a dead-letter queue, an alarm on its depth and an alarm
// on one of the functions' own metrics, as the hub declares them.
const alarmTemplate = `{"Resources":{
 "Dlq":{"Type":"AWS::SQS::Queue","Metadata":{"aws:cdk:path":"VpcFlowLogs/Dlq/Resource"},"Properties":{}},
 "DlqAlarm":{"Type":"AWS::CloudWatch::Alarm","Metadata":{"aws:cdk:path":"VpcFlowLogs/EnablerDeadLettersAlarm/Resource"},
  "Properties":{"ComparisonOperator":"GreaterThanThreshold","Dimensions":[{"Name":"QueueName","Value":{"Fn::GetAtt":["Dlq","QueueName"]}}],
   "EvaluationPeriods":1,"MetricName":"ApproximateNumberOfMessagesVisible","Namespace":"AWS/SQS","Period":300,"Statistic":"Maximum",
   "Threshold":0,"TreatMissingData":"notBreaching"}},
 "UnreachableAlarm":{"Type":"AWS::CloudWatch::Alarm","Metadata":{"aws:cdk:path":"VpcFlowLogs/UnreachableAccountRegionsAlarm/Resource"},
  "Properties":{"ComparisonOperator":"GreaterThanThreshold","EvaluationPeriods":1,"MetricName":"UnreachableAccountRegions",
   "Namespace":"VPCFlowLogs","Period":21600,"Statistic":"Maximum","Threshold":0,"TreatMissingData":"ignore"}}}}`

// TestAlarmPlay proves the alarm play against moto's server, without the
// functions: the template's alarms are created in moto in
// INSUFFICIENT_DATA (moto itself would say OK); a metric datapoint and a
// message in the dead-letter queue make both ALARM; a sweep period later
// with no new datapoint, the "ignore" alarm keeps ALARM; the queue emptied
// within the same five-minute period keeps its alarm (the period's
// Maximum); ten minutes later, with a datapoint of 0, both are OK. Every
// state is read back from moto's DescribeAlarms.
func TestAlarmPlay(t *testing.T) {
	testenv.Need(t, testenv.MotoServer)
	m := freshMoto(t)
	ctx := t.Context()
	file := t.TempDir() + "/alarms.template.json"
	if err := os.WriteFile(file, []byte(alarmTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := e2e.ReadTemplate(file)
	if err != nil {
		t.Fatal(err)
	}
	id := e2e.NewStackID(testenv.Region, e2e.Account, e2e.StackName, "alarms")
	s := &e2e.Stack{Template: tpl, Names: e2e.NameResources(tpl, e2e.StackName, id, e2e.Account, testenv.Region)}
	c := e2e.NewClients(m.URL)
	if err := e2e.Deploy(ctx, c, s); err != nil {
		t.Fatal(err)
	}
	play, err := e2e.NewAlarmPlay(ctx, m.URL, s, c.SQS)
	if err != nil {
		t.Fatal(err)
	}
	dlq := s.Names.Attr["Dlq"]["QueueUrl"]
	unreachable := func(v float64) e2e.MetricDatum {
		return e2e.MetricDatum{Namespace: "VPCFlowLogs", Name: "UnreachableAccountRegions", Unit: "Count", Value: v, Time: time.Now()}
	}
	steps := []struct {
		name                string
		do                  func() error
		dlqState, unreached string
	}{
		{"created", func() error { return nil }, e2e.AlarmOK, e2e.AlarmInsufficientData},
		{"two unreachable, a dead letter", func() error {
			play.Offset = -7 * time.Hour
			play.Record(unreachable(2))
			_, err := c.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(dlq), MessageBody: aws.String("poison")})
			return err
		}, e2e.AlarmAlarm, e2e.AlarmAlarm},
		{"seven hours later, no new datapoint", func() error { play.Offset = 0; return nil }, e2e.AlarmAlarm, e2e.AlarmAlarm},
		{"the queue emptied within the same five minutes: their Maximum is still 1", func() error {
			_, err := c.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(dlq)})
			return err
		}, e2e.AlarmAlarm, e2e.AlarmAlarm},
		{"ten minutes later, none unreachable", func() error {
			play.Offset = 10 * time.Minute
			play.Record(unreachable(0))
			return nil
		}, e2e.AlarmOK, e2e.AlarmOK},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		states, err := play.Settle(ctx)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := states["EnablerDeadLetters"]; got.State != st.dlqState {
			t.Errorf("%s: EnablerDeadLetters %s (%s), want %s", st.name, got.State, got.Reason, st.dlqState)
		}
		if got := states["UnreachableAccountRegions"]; got.State != st.unreached {
			t.Errorf("%s: UnreachableAccountRegions %s (%s), want %s", st.name, got.State, got.Reason, st.unreached)
		}
	}
}
