package vpcflowlogs_test

import (
	"reflect"
	"strings"
	"testing"
)

// TestHubFunctionsMayShortenTheirRetries proves each hub function may
// change the visibility of its own queue's messages and of no other
// queue's: it makes a message that failed transiently come back after 30
// to 120 s (lambda/org/retry.go, used by lambda/reconcile/orgretry.go and
// lambda/digest/org.go) instead of the queue's 30 minutes. The event source
// mapping's consume grant (feedFunction) gives exactly that, as Lambda's
// poller acts with the function's role; no statement adds it elsewhere.
func TestHubFunctionsMayShortenTheirRetries(t *testing.T) {
	_, doc := hub(t)
	for _, fn := range []string{"FlowLogsEnabler", "FlowLogsSummarizer"} {
		t.Run(fn, func(t *testing.T) {
			fnID, f := idLike(t, doc, "AWS::Lambda::Function", fn)
			qID, _ := idLike(t, doc, "AWS::SQS::Queue", fn+"Queue")
			own := map[string]any{"Fn::GetAtt": []any{qID, "Arn"}}
			var resources []any
			for _, s := range policyOf(t, doc, props(f)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)) {
				if strings.Contains(fmtAction(s), "sqs:ChangeMessageVisibility") {
					resources = append(resources, s.(map[string]any)["Resource"])
				}
			}
			if len(resources) != 1 || !reflect.DeepEqual(resources[0], own) {
				t.Errorf("%s may change message visibility on %v, want only its own queue %s", fnID, resources, qID)
			}
		})
	}
}
