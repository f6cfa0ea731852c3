package vpcflowlogs

import (
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
)

// addDashboard draws what the functions report: the alarms' states first,
// then traffic accepted and rejected, new interfaces, lost records,
// coverage of tagged VPCs and the digests' lag.
func addDashboard(c *VPCFlowLogs, p Props) {
	metric := func(name, stat string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String(p.MetricsNamespace),
			MetricName: jsii.String(name),
			Statistic:  jsii.String(stat),
			Period:     awscdk.Duration_Hours(jsii.Number(1)),
		})
	}
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title),
			Left:  &metrics,
			Width: jsii.Number(12),
		})
	}
	dash := awscloudwatch.NewDashboard(c.Construct, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   dashboardName(c),
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
	})
	alarms := make([]interfacesawscloudwatch.IAlarmRef, len(c.Alarms))
	for i, a := range c.Alarms {
		alarms[i] = a
	}
	dash.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title:  jsii.String("Alarms"),
		Alarms: &alarms,
		Width:  jsii.Number(24),
	}))
	dash.AddWidgets(
		graph("Accepted vs rejected bytes", metric(metrics.AcceptedBytes, "Sum"), metric(metrics.RejectedBytes, "Sum")),
		graph("New network interfaces", metric(metrics.NewInterfaces, "Sum")),
	)
	dash.AddWidgets(
		graph("Records lost (SKIPDATA) and malformed", metric(metrics.SkippedRecords, "Sum"), metric(metrics.MalformedRecords, "Sum")),
		graph("VPCs tagged "+p.TagKey+": tagged, covered, failed",
			metric(metrics.TaggedVPCs, "Maximum"), metric(metrics.CoveredVPCs, "Maximum"), metric(metrics.FailedVPCs, "Maximum")),
	)
	findings := make([]awscloudwatch.IMetric, 0, len(metrics.FindingsMetrics))
	for _, name := range metrics.FindingsMetrics {
		findings = append(findings, metric(name, "Sum"))
	}
	dash.AddWidgets(awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Digest findings by type"),
		Left:  &findings,
		Width: jsii.Number(24),
	}))
	dash.AddWidgets(awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Digest checkpoint age (seconds) against its alarm threshold"),
		Left:  &[]awscloudwatch.IMetric{metric(metrics.CheckpointAge, "Maximum")},
		LeftAnnotations: &[]*awscloudwatch.HorizontalAnnotation{{
			Label: jsii.String("alarm"),
			Value: jsii.Number((2*schedulePeriod(p.SummarySchedule) + p.SettleLag).Seconds()),
		}},
		Width: jsii.Number(24),
	}))
}

// dashboardName is <stack name>-<construct id>-<region>: dashboard names
// are global to an account, so the region keeps the same stack deployed in
// two regions apart, and the construct id two instances in one stack. Only
// letters, digits, - and _ are allowed, at most 255 of them: stack names
// take up to 128 and regions about 15, so the id keeps 100.
func dashboardName(c *VPCFlowLogs) *string {
	stack := awscdk.Stack_Of(c.Construct)
	id := []rune(dashboardNameRE.ReplaceAllString(*c.Node().Id(), "-"))
	if len(id) > 100 {
		id = id[:100]
	}
	return awscdk.Fn_Join(jsii.String("-"), &[]*string{stack.StackName(), jsii.String(string(id)), stack.Region()})
}

var dashboardNameRE = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// Saved Logs Insights queries over the flow log group. Insights discovers
// the default format's fields (srcAddr, dstAddr, bytes, action, ...) by
// itself.
var queries = []struct{ id, name, query string }{
	{"TopTalkersQuery", "VPC flow logs/Top talkers",
		"stats sum(bytes) as bytesTransferred by srcAddr, dstAddr\n| sort bytesTransferred desc\n| limit 20"},
	{"RejectedBySourceQuery", "VPC flow logs/Rejected traffic by source",
		"filter action = \"REJECT\"\n| stats count(*) as records, sum(bytes) as bytesRejected by srcAddr\n| sort records desc\n| limit 20"},
	{"InterfaceTrafficQuery", "VPC flow logs/Traffic for one interface",
		"# Replace the interface id below with the one to look at.\nfilter interfaceId = \"eni-0123456789abcdef0\"\n| stats sum(bytes) as bytesTransferred, count(*) as records by srcAddr, dstAddr, dstPort, action\n| sort bytesTransferred desc\n| limit 50"},
}

func addQueries(c *VPCFlowLogs) {
	for _, q := range queries {
		awslogs.NewCfnQueryDefinition(c.Construct, jsii.String(q.id), &awslogs.CfnQueryDefinitionProps{
			Name:          jsii.String(q.name),
			QueryString:   jsii.String(q.query),
			LogGroupNames: &[]any{c.FlowLogGroup.LogGroupName()},
		})
	}
}
