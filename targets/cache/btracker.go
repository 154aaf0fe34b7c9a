package cache

// workOp is enum policy_operation.
type workOp uint8

const (
	opPromote workOp = iota
	opDemote
	opWriteback
)

// work is struct policy_work: a migration the policy asks for.
type work struct {
	Op     workOp
	Oblock uint64
	Cblock uint64
}

// btracker is struct background_tracker: the policy's migrations queued
// (not yet handed out; the newest is handed out first, as the kernel's
// list_add puts it at the head), and the pending ones by origin block (at
// most one each), queued or issued, at most MaxWork in all.
type btracker struct {
	MaxWork uint32
	Queued  []work // newest last
	Pending map[uint64]workOp
	Counts  [3]uint32 // pending promotions, demotions, writebacks
}

func newBtracker(maxWork uint32) btracker {
	return btracker{MaxWork: maxWork, Pending: map[uint64]workOp{}}
}

func (b *btracker) nrDemotionsQueued() uint32 { return b.Counts[opDemote] }

// queue is btracker_queue: false when the tracker is full or work for the
// same origin block is pending. issued hands the work out at once (the
// caller runs it) instead of queueing it.
func (b *btracker) queue(w work, issued bool) bool {
	if b.Counts[0]+b.Counts[1]+b.Counts[2] >= b.MaxWork {
		return false
	}
	if _, ok := b.Pending[w.Oblock]; ok {
		return false
	}
	b.Pending[w.Oblock] = w.Op
	if !issued {
		b.Queued = append(b.Queued, w)
	}
	b.Counts[w.Op]++
	return true
}

// issue is btracker_issue: the work queued last, or false.
func (b *btracker) issue() (work, bool) {
	if len(b.Queued) == 0 {
		return work{}, false
	}
	w := b.Queued[len(b.Queued)-1]
	b.Queued = b.Queued[:len(b.Queued)-1]
	return w, true
}

// complete is btracker_complete.
func (b *btracker) complete(w work) {
	b.Counts[w.Op]--
	delete(b.Pending, w.Oblock)
}

func (b *btracker) promotionPresent(oblock uint64) bool {
	_, ok := b.Pending[oblock]
	return ok
}
