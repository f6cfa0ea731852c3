package digest

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// BenchmarkRollupMerge merges the stored summaries of 1,000 accounts × 17
// regions (full top lists of 10, 5 new interface ids each, the keys
// overlapping across account-regions as traffic to shared services does)
// and encodes the roll-up: the in-process cost of the last finisher,
// besides reading the items from DynamoDB. Run with
// go test ./lambda/digest -run '^$' -bench RollupMerge -benchmem -cpu 1 -count 3
func BenchmarkRollupMerge(b *testing.B) {
	const accounts, regions, k = 1000, 17, 10
	run := runstate.OrgRun{ID: "20261203T230000Z-0123456789abcdef", StartedAt: time.Unix(0, 0)}
	for a := range accounts {
		run.Accounts = append(run.Accounts, fmt.Sprintf("%012d", 100000000000+a))
	}
	for r := range regions {
		run.Regions = append(run.Regions, fmt.Sprintf("xx-test-%d", r+1))
	}
	raws := make([][]byte, 0, accounts*regions)
	for i := range accounts * regions {
		m := MemberSummary{Status: StatusDigested, TopK: k, NewInterfaces: 5,
			Window: &Window{From: time.Unix(0, 0), To: time.Unix(3600, 0)}}
		m.Totals.Records, m.Totals.Bytes = 100_000, 1<<30
		for j := range k {
			// Half the keys are shared across the organization, half are
			// the account-region's own.
			host := byte(j)
			if j%2 == 1 {
				host = byte(i % 251)
			}
			a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), host})
			shared := netip.AddrFrom4([4]byte{172, 16, 0, byte(j)})
			m.TopTalkers = append(m.TopTalkers, flowrecord.Talker{Src: a, Dst: shared, Bytes: uint64(1000 - j)})
			m.TopRejectedSources = append(m.TopRejectedSources, flowrecord.SourceCount{Src: a, Records: uint64(100 - j)})
			m.TopDstPorts = append(m.TopDstPorts, flowrecord.PortCount{Port: 443 + j*(i%7), Protocol: 6, Records: uint64(100 - j)})
		}
		for j := range 5 {
			m.NewInterfaceIDs = append(m.NewInterfaceIDs, fmt.Sprintf("eni-%017x", i*5+j))
		}
		raw, err := m.encode()
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rb := newRollupBuilder(run, "o-abcdefghij", k, time.Unix(0, 0))
		for i, raw := range raws {
			rb.add(run.Accounts[i/regions], run.Regions[i%regions], raw)
		}
		r := rb.rollup()
		if _, err := r.encode(MaxDigestBytes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(raws)), "account-regions")
}
