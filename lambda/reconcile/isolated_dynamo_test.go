package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestIsolatedDynamoRollsBackItems checks the organization tests' own
// DynamoDB emulator (isolatedScript), which backs up the items a
// transaction names instead of whole tables: a transaction whose last
// condition fails leaves every item as it was (an update, a put of a new
// item, a delete, in a table with a sort key and one without), and one
// that succeeds applies all of its operations. DynamoDB's transactions
// are all or nothing; so must the emulator's be.
func TestIsolatedDynamoRollsBackItems(t *testing.T) {
	dynamoMoto(t)
	if !orgDynamo.isolated {
		t.Skipf("python3 cannot import moto: the organization tests use plain moto_server, not %s", isolatedScript)
	}
	ctx := context.Background()
	db := dynamodb.NewFromConfig(clientConfig(orgDynamo.moto.URL))
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	n := func(v int) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(v)} }
	ranged, hashed := "rollback-ranged", "rollback-hashed"
	for _, tbl := range []struct {
		name string
		keys []string
	}{{ranged, []string{"pk", "sk"}}, {hashed, []string{"pk"}}} {
		in := &dynamodb.CreateTableInput{TableName: aws.String(tbl.name), BillingMode: ddbtypes.BillingModePayPerRequest}
		for i, k := range tbl.keys {
			in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String(k), AttributeType: ddbtypes.ScalarAttributeTypeS})
			in.KeySchema = append(in.KeySchema, ddbtypes.KeySchemaElement{AttributeName: aws.String(k), KeyType: []ddbtypes.KeyType{ddbtypes.KeyTypeHash, ddbtypes.KeyTypeRange}[i]})
		}
		if _, err := db.CreateTable(ctx, in); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(tbl.name)}) })
	}
	rk := func(sk string) map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{"pk": s("a"), "sk": s(sk)}
	}
	hk := func(pk string) map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{"pk": s(pk)}
	}
	for i := range 50 {
		item := rk(fmt.Sprint(i))
		item["v"] = n(1)
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(ranged), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(hashed), Item: map[string]ddbtypes.AttributeValue{"pk": s("x"), "v": n(1)}}); err != nil {
		t.Fatal(err)
	}
	set := func(table string, key map[string]ddbtypes.AttributeValue) ddbtypes.TransactWriteItem {
		return ddbtypes.TransactWriteItem{Update: &ddbtypes.Update{TableName: aws.String(table), Key: key,
			UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": n(2)}}}
	}
	writes := []ddbtypes.TransactWriteItem{
		set(ranged, rk("1")),
		{Put: &ddbtypes.Put{TableName: aws.String(ranged), Item: rk("new")}},
		{Delete: &ddbtypes.Delete{TableName: aws.String(ranged), Key: rk("2")}},
		set(hashed, hk("x")),
		{Put: &ddbtypes.Put{TableName: aws.String(hashed), Item: hk("y")}},
	}
	failing := append(slices.Clone(writes), ddbtypes.TransactWriteItem{ConditionCheck: &ddbtypes.ConditionCheck{
		TableName: aws.String(ranged), Key: rk("3"), ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: failing})
	if canceled := (*ddbtypes.TransactionCanceledException)(nil); !errors.As(err, &canceled) {
		t.Fatalf("a transaction whose condition fails: %v, want TransactionCanceledException", err)
	}
	get := func(table string, key map[string]ddbtypes.AttributeValue) map[string]ddbtypes.AttributeValue {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	v := func(item map[string]ddbtypes.AttributeValue) string {
		if m, ok := item["v"].(*ddbtypes.AttributeValueMemberN); ok {
			return m.Value
		}
		return "none"
	}
	state := func() string {
		return fmt.Sprintf("ranged 1: v=%s, new: %t, 2: %t; hashed x: v=%s, y: %t",
			v(get(ranged, rk("1"))), get(ranged, rk("new")) != nil, get(ranged, rk("2")) != nil,
			v(get(hashed, hk("x"))), get(hashed, hk("y")) != nil)
	}
	if got, want := state(), "ranged 1: v=1, new: false, 2: true; hashed x: v=1, y: false"; got != want {
		t.Errorf("after the failed transaction: %s, want %s", got, want)
	}
	count, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(ranged), Select: ddbtypes.SelectCount})
	if err != nil || count.Count != 50 {
		t.Errorf("after the failed transaction the ranged table holds %d items (%v), want 50", count.Count, err)
	}
	if _, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: writes}); err != nil {
		t.Fatal(err)
	}
	if got, want := state(), "ranged 1: v=2, new: true, 2: false; hashed x: v=2, y: true"; got != want {
		t.Errorf("after the transaction that succeeds: %s, want %s", got, want)
	}
}
