package digest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// memTable is an in-memory stand-in for the run state table: it stores
// and returns items by key and applies no condition. The simulation below
// is about what the findings say given the stored baseline, one run at a
// time; the conditions are tested against moto in package runstate.
type memTable struct {
	mu    sync.Mutex
	items map[string]map[string]types.AttributeValue
}

func itemKey(k map[string]types.AttributeValue) string {
	return k[runstate.PartitionKey].(*types.AttributeValueMemberS).Value + "|" + k[runstate.SortKey].(*types.AttributeValueMemberS).Value
}

func (m *memTable) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &dynamodb.GetItemOutput{Item: m.items[itemKey(in.Key)]}, nil
}

func (m *memTable) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[itemKey(in.Item)] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (m *memTable) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, fmt.Errorf("the simulation does not update items")
}

// simHours is eight simulated days: the first learns, the next seven are
// checked, and the last day has a week before it for the egress volume.
const (
	simHours       = 8 * 24
	simHourRecords = 2_500
)

var simStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// plantPlan maps an hour to the behaviour planted in it.
type plantPlan map[int]func(g *flowrecordtest.Generator, at int64) flowrecordtest.Planted

// simulate runs one digest an hour over simHours of generated background
// traffic, with the planted behaviours of p, each hour's findings built
// from the aggregator's detectors and the baseline as the run state table
// holds it between runs. It returns the findings of each hour and what was
// planted in which hour.
func simulate(t *testing.T, p plantPlan) ([][]Finding, map[int]flowrecordtest.Planted) {
	t.Helper()
	ctx := context.Background()
	store, err := runstate.New(&memTable{items: map[string]map[string]types.AttributeValue{}}, "VpcFlowLogs-State",
		runstate.Key{Account: "123456789012", Region: "us-east-1", Source: runstate.LogGroupSource("/vpc/flow-logs")})
	if err != nil {
		t.Fatal(err)
	}
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{
		Seed: 14, Records: simHours * simHourRecords, Interfaces: 16,
		StartTime: simStart.Unix(), Span: simHours * 3600, SkipDataShare: -1,
		// A multi-GiB upload to an arbitrary public address is the
		// exfiltration egress-volume exists for: the background keeps its
		// bulk transfers inside, and the planted burst is the only one out.
		BulkInside: true,
	})
	parser := flowrecord.NewParser(g.Format())
	th := settings.DefaultFindings()
	ranges := testRanges(t)
	out := make([][]Finding, simHours)
	planted := map[int]flowrecordtest.Planted{}
	for h := range simHours {
		agg := flowrecord.NewAggregator(flowrecord.Options{})
		for i := 0; i < simHourRecords && g.Next(); i++ {
			parser.SetInterfaceID(g.InterfaceID())
			agg.AddLine(parser, g.Line())
		}
		from := simStart.Add(time.Duration(h) * time.Hour)
		if plant := p[h]; plant != nil {
			pl := plant(g, from.Unix()+1200)
			planted[h] = pl
			for _, l := range pl.Lines {
				parser.SetInterfaceID(l.InterfaceID)
				agg.AddLine(parser, l.Text)
			}
		}
		w := Window{From: from, To: from.Add(time.Hour)}
		base, err := loadBaseline(ctx, store, w.From, th.BaselineDays)
		if err != nil {
			t.Fatalf("hour %d: %v", h, err)
		}
		fs, _ := buildFindings(findingsInput{
			window: w, signals: agg.Signals(flowrecord.Thresholds{ScanPorts: th.ScanPorts, SweepHosts: th.SweepHosts}),
			ifaces: agg.Summary().Interfaces, th: th, base: base, ranges: ranges,
		})
		if err := base.save(ctx, store, fmt.Sprintf("run-%d", h)); err != nil {
			t.Fatalf("hour %d: saving the baseline: %v", h, err)
		}
		out[h] = fs
	}
	return out, planted
}

// TestSimulatedWeekFindsPlanted plants each behaviour at a known hour
// among eight days of background traffic and checks that each is reported
// in its hour with the planted subject.
func TestSimulatedWeekFindsPlanted(t *testing.T) {
	if testing.Short() {
		t.Skip("eight simulated days")
	}
	p := plantPlan{
		100: func(g *flowrecordtest.Generator, at int64) flowrecordtest.Planted { return g.PortScan(3, 200, at) },
		110: func(g *flowrecordtest.Generator, at int64) flowrecordtest.Planted { return g.Sweep(5, 60, at) },
		120: func(g *flowrecordtest.Generator, at int64) flowrecordtest.Planted { return g.NewExternal(2, at) },
		130: func(g *flowrecordtest.Generator, at int64) flowrecordtest.Planted { return g.NewInbound(6, at) },
		180: func(g *flowrecordtest.Generator, at int64) flowrecordtest.Planted {
			return g.Exfiltration(4, 20<<30, at)
		},
	}
	want := map[flowrecordtest.Behaviour]string{
		flowrecordtest.PlantPortScan:     FindingPortScan,
		flowrecordtest.PlantSweep:        FindingSweep,
		flowrecordtest.PlantNewExternal:  FindingNewExternal,
		flowrecordtest.PlantNewInbound:   FindingNewInbound,
		flowrecordtest.PlantExfiltration: FindingExfiltration,
	}
	hours, planted := simulate(t, p)
	for h, pl := range planted {
		t.Run(string(pl.Behaviour), func(t *testing.T) {
			typ := want[pl.Behaviour]
			for _, f := range hours[h] {
				if f.Type != typ {
					continue
				}
				subject := f.Subject
				if typ == FindingExfiltration {
					subject = f.Evidence.Addresses[0] // the subject is "public addresses"; the top destination is the planted one
				}
				if subject == pl.Subject && (len(f.Evidence.Interfaces) == 0 || f.Evidence.Interfaces[0] == pl.InterfaceID || typ == FindingPortScan) {
					return
				}
			}
			t.Errorf("hour %d: planted %s with subject %s on %s; findings %+v", h, pl.Behaviour, pl.Subject, pl.InterfaceID, hours[h])
		})
	}
}

// TestSimulatedWeekCleanBackground runs the same eight days without any
// planted behaviour and counts what is raised after the first (learning)
// day: every finding there is a false positive. It logs them by type and
// fails on any.
func TestSimulatedWeekCleanBackground(t *testing.T) {
	if testing.Short() {
		t.Skip("eight simulated days")
	}
	hours, _ := simulate(t, nil)
	byType := map[string]int{}
	for h, fs := range hours {
		for _, f := range fs {
			byType[f.Type]++
			t.Logf("hour %d: false positive %s %s: %s", h, f.Type, f.Subject, f.Why)
		}
	}
	t.Logf("false positives over %d hours of clean background (%d records an hour): %v", simHours, simHourRecords, byType)
	if len(byType) > 0 {
		t.Errorf("clean background raised findings: %v; want none", byType)
	}
}
