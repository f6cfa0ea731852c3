package vpcflowlogs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// The organization mode's fan-out: one SQS message per account-region, a
// standard queue feeding the function through an event source mapping.
// SQS retries each account-region on its own (a failed item becomes visible
// again after the visibility timeout), moves it to the dead-letter queue
// after workQueueMaxReceives tries, and its approximate visible and
// in-flight counts show a sweep's or a digest run's progress.
const (
	// workQueueMaxReceives is how often one account-region is tried
	// before its message goes to the dead-letter queue: enough to outlast
	// a throttled minute or a StackSet instance still deploying, few
	// enough that a broken spoke shows within the hour.
	workQueueMaxReceives = 5
	// workQueueVisibilitySeconds is six times the function timeout, as
	// Lambda recommends for a queue feeding a function, so a message is
	// never handed out again while a run on it may still be going.
	workQueueVisibilitySeconds = 6 * functionTimeoutSeconds
	// workQueueConcurrency bounds how many account-regions run at once
	// (the event source mapping's MaximumConcurrency, 2 to 1,000): 20
	// keeps 17,000 account-regions under an hour at a few seconds each,
	// and well under an account's default Lambda concurrency of 1,000.
	workQueueConcurrency = 20
	// deadLetterRetentionDays keeps failed account-regions for the longest
	// SQS allows, to be read and redriven.
	deadLetterRetentionDays = 14
)

// newWorkQueue is a function's work queue and its dead-letter queue: both
// encrypted with SQS-managed keys (they carry account ids and regions, no
// secret, and need no KMS key policy) and refusing requests without TLS.
func newWorkQueue(scope constructs.Construct, id string) (queue, deadLetters awssqs.Queue) {
	deadLetters = awssqs.NewQueue(scope, jsii.String(id+"DeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(deadLetterRetentionDays)),
	})
	queue = awssqs.NewQueue(scope, jsii.String(id+"Queue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(workQueueVisibilitySeconds)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: deadLetters, MaxReceiveCount: jsii.Number(workQueueMaxReceives)},
	})
	return queue, deadLetters
}

// feedFunction has queue invoke fn one message at a time, fn reporting a
// failed message instead of failing the batch, at most
// workQueueConcurrency at once; fn may send to queue (its own fan-out) and
// finds it in settings.EnvWorkQueueURL. The event source's consume grant
// includes sqs:ChangeMessageVisibility on queue, which both functions use
// to retry a transient failure after a short delay (lambda/org/retry.go).
func feedFunction(fn awslambda.Function, queue awssqs.Queue) {
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(1),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(workQueueConcurrency),
	}))
	queue.GrantSendMessages(fn)
	fn.AddEnvironment(jsii.String(settings.EnvWorkQueueURL), queue.QueueUrl(), nil)
}
