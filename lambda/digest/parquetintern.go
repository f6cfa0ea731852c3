package digest

import (
	"bytes"
	"hash/maphash"
	"slices"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// Plain string pages read as a dictionary: a page that is not
// dictionary-encoded (PLAIN or DELTA strings, parquet-go's default) holds
// every row's bytes, yet a flow log's string columns repeat from row to
// row (the account, the interface, the action and status, most addresses:
// a few hundred distinct addresses in 10,000 rows). interner gives each
// distinct value of a column's pages an index into a flowrecord.Dict
// built as the values come, so that each is checked and parsed once per
// row group, as a dictionary page's values are, and the page is read as an
// indexed one. A value the Dict refuses keeps its refusal, exactly as the
// same bytes read per row (flowrecord's TestDictMatchesBytes).
//
// Hostile pages cannot make this cost more than reading per row, beyond a
// bound: a column interns at most maxInterned values of maxInternedBytes
// in all, each at most maxInternedLen bytes, and a lookup visits at most
// maxProbes slots; a page that would pass any of these is read per row,
// and so is the rest of its chunk. The hash is seeded per column, so no
// file can choose its collisions.
const (
	maxInternedLen   = 64
	maxInternedBytes = 64 << 10
	internSlots      = 2048 // a power of two; at most half of them are filled
)

// maxInterned is the number of distinct values a column interns in a
// chunk. A variable so that tests can read every page per row (0).
var maxInterned = 1024

// maxProbes bounds the slots one lookup visits. The table is at most
// half full and its hash seeded per column, so a value needs more only by
// a run of collisions no page could choose; the bound keeps a lookup's
// cost constant whatever the hash does.
const maxProbes = 64

// interner is one column's dictionary of the values its plain string
// pages held so far in the chunk.
type interner struct {
	dict  flowrecord.Dict
	slots []int32 // open addressing: 0 is empty, otherwise a value's index + 1
	bytes int     // the values' bytes in dict
	seed  maphash.Seed
	off   bool // the chunk's values passed a bound: its pages are read per row
}

// reset empties the interner for the next chunk of a column of field f.
func (in *interner) reset(f flowrecord.Field) {
	in.dict.Reset(f)
	clear(in.slots)
	in.bytes, in.off = 0, false
}

// held is the memory the interner holds.
func (in *interner) held() int64 { return int64(in.dict.Held() + 4*cap(in.slots)) }

// intern gives each of the first n values of v (byte arrays) its index in
// the interner's dictionary, into index, and reports whether all of them
// had one; false leaves the page to be read per row (offsets out of
// order or past the data, whose rows are then refused one by one; or a
// bound passed, after which the chunk's other pages are read per row
// too).
func (in *interner) intern(v *pageVals, n int, index []int32) ([]int32, bool) {
	if in.off || !soundOffsets(v.data, v.offs, n) {
		return index, false
	}
	if in.slots == nil {
		in.slots = make([]int32, internSlots)
		in.seed = maphash.MakeSeed()
		in.dict.Grow(min(maxInterned, 64), 4<<10) // most columns hold few distinct values
	}
	index = slices.Grow(index[:0], n)[:n]
	mask := len(in.slots) - 1
	var prev []byte
	for k := range n {
		b := v.data[v.offs[k]:v.offs[k+1]]
		if k > 0 && bytes.Equal(b, prev) { // the commonest case: as the row before
			index[k] = index[k-1]
			continue
		}
		prev = b
		i := int(maphash.Bytes(in.seed, b)) & mask
		for probes := 0; ; probes++ {
			s := in.slots[i]
			if probes == maxProbes {
				in.off = true // collisions past chance: no page may cost more
				return index, false
			}
			if s == 0 {
				if in.dict.Len() >= min(maxInterned, internSlots/2) || len(b) > maxInternedLen || in.bytes+len(b) > maxInternedBytes {
					in.off = true
					return index, false
				}
				in.dict.Add(b)
				in.bytes += len(b)
				s = int32(in.dict.Len())
				in.slots[i] = s
			} else if !bytes.Equal(in.dict.Value(int(s-1)), b) {
				i = (i + 1) & mask
				continue
			}
			index[k] = s - 1
			break
		}
	}
	return index, true
}
