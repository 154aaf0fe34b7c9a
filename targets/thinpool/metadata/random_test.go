package metadata

import (
	"bytes"
	"fmt"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"math/rand"
	"testing"
)

type modelMapping struct {
	data uint64
	time uint32
}

type modelDevice struct {
	m            map[uint64]modelMapping
	tx           uint64
	ctime, stime uint32
}

// model is the expected content of a pool, maintained next to the real one.
type model struct {
	devs  map[uint64]*modelDevice
	time  uint32
	trans uint64
}

// compareXML checks parsed thin_dump output against the model.
func (md *model) compareXML(t *testing.T, x *XMLSuperblock) {
	t.Helper()
	if x.Time != md.time || x.Transaction != md.trans {
		t.Fatalf("superblock time/transaction %d/%d, model %d/%d", x.Time, x.Transaction, md.time, md.trans)
	}
	if len(x.Devices) != len(md.devs) {
		t.Fatalf("%d devices, model has %d", len(x.Devices), len(md.devs))
	}
	for _, d := range x.Devices {
		want, ok := md.devs[d.ID]
		if !ok {
			t.Fatalf("device %d not in model", d.ID)
		}
		if d.MappedBlocks != uint64(len(want.m)) || d.Transaction != want.tx || d.CreationTime != want.ctime || d.SnapTime != want.stime {
			t.Fatalf("device %d details %+v, model mapped=%d tx=%d ctime=%d stime=%d", d.ID, d, len(want.m), want.tx, want.ctime, want.stime)
		}
		n := 0
		for _, m := range d.Mappings {
			for j := uint64(0); j < m.Length; j++ {
				w, ok := want.m[m.Origin+j]
				if !ok || w.data != m.Data+j || w.time != m.Time {
					t.Fatalf("device %d block %d -> %d@%d, model %+v (%v)", d.ID, m.Origin+j, m.Data+j, m.Time, w, ok)
				}
				n++
			}
		}
		if n != len(want.m) {
			t.Fatalf("device %d: %d mappings, model %d", d.ID, n, len(want.m))
		}
	}
}

func randomKey(rng *rand.Rand, m map[uint64]modelMapping) (uint64, bool) {
	for k := range m {
		if rng.Intn(4) == 0 {
			return k, true
		}
	}
	for k := range m {
		return k, true
	}
	return 0, false
}

func TestRandomOperationsAgainstThinCheck(t *testing.T) {
	dmtest.Peer(t, "thin_check")
	ops := 6000
	if testing.Short() {
		ops = 1500
	}
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runRandom(t, seed, ops) })
	}
}

func runRandom(t *testing.T, seed int64, ops int) {
	rng := rand.New(rand.NewSource(seed))
	f, path := newMetaFile(t, 4096)
	p, err := Format(f, 4096, 128, 200000, Options{CacheBlocks: 64})
	if err != nil {
		t.Fatal(err)
	}
	md := &model{devs: map[uint64]*modelDevice{}}
	ids := func() []uint64 { return p.Devices() }
	pick := func() (uint64, bool) {
		l := ids()
		if len(l) == 0 {
			return 0, false
		}
		return l[rng.Intn(len(l))], true
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	checks := 0
	verify := func() {
		must(p.Commit())
		thinCheck(t, path)
		if errs := CheckFile(t, path); len(errs) != 0 {
			t.Fatalf("our checker: %v", errs)
		}
		out := thinDump(t, path)
		x, err := ParseXML(bytes.NewReader(out), "thin_dump")
		must(err)
		md.compareXML(t, x)
		if got := ourDump(t, p); !bytes.Equal(got, out) {
			t.Fatalf("our dump differs from thin_dump")
		}
		checks++
	}
	for i := 0; i < ops; i++ {
		r := rng.Intn(1000)
		switch {
		case r < 40 && len(md.devs) < 40:
			id := uint64(rng.Intn(200))
			err := p.CreateThin(id)
			if _, exists := md.devs[id]; exists {
				if err == nil {
					t.Fatalf("create existing %d succeeded", id)
				}
				continue
			}
			must(err)
			md.devs[id] = &modelDevice{m: map[uint64]modelMapping{}, tx: md.trans, ctime: md.time, stime: md.time}
		case r < 70 && len(md.devs) < 40:
			origin, ok := pick()
			id := uint64(rng.Intn(200))
			if _, exists := md.devs[id]; !ok || exists {
				continue
			}
			must(p.CreateSnap(id, origin))
			md.time++
			od := md.devs[origin]
			od.stime = md.time
			nd := &modelDevice{m: make(map[uint64]modelMapping, len(od.m)), tx: md.trans, ctime: md.time, stime: md.time}
			for k, v := range od.m {
				nd.m[k] = v
			}
			md.devs[id] = nd
		case r < 85:
			id, ok := pick()
			if !ok {
				continue
			}
			must(p.Delete(id))
			delete(md.devs, id)
		case r < 700:
			id, ok := pick()
			if !ok {
				continue
			}
			th, err := p.OpenThin(id)
			must(err)
			base := uint64(rng.Intn(4)) * 100000
			n := 1 + rng.Intn(40)
			seq := rng.Intn(2) == 0
			start := base + uint64(rng.Intn(3000))
			for j := 0; j < n; j++ {
				vb := start + uint64(j)
				if !seq {
					vb = base + uint64(rng.Intn(3000))
				}
				db, err := p.AllocDataBlock()
				must(err)
				must(th.InsertBlock(vb, db))
				md.devs[id].m[vb] = modelMapping{db, md.time}
			}
			th.Close()
		case r < 850:
			id, ok := pick()
			if !ok {
				continue
			}
			th, err := p.OpenThin(id)
			must(err)
			d := md.devs[id]
			for j := 0; j < 1+rng.Intn(30); j++ {
				vb, ok := randomKey(rng, d.m)
				if !ok {
					break
				}
				mp, found, err := th.FindBlock(vb)
				must(err)
				want := d.m[vb]
				if !found || mp.DataBlock != want.data || mp.Time != want.time || mp.Shared != (d.stime > want.time) {
					t.Fatalf("FindBlock(%d, %d) = %+v %v, model %+v stime %d", id, vb, mp, found, want, d.stime)
				}
				must(th.RemoveRange(vb, vb+1))
				delete(d.m, vb)
			}
			th.Close()
		case r < 900:
			id, ok := pick()
			if !ok {
				continue
			}
			th, err := p.OpenThin(id)
			must(err)
			b := uint64(rng.Intn(400000))
			e := b + uint64(rng.Intn(2000))
			must(th.RemoveRange(b, e))
			for k := range md.devs[id].m {
				if k >= b && k < e {
					delete(md.devs[id].m, k)
				}
			}
			mb, _ := th.MappedBlocks()
			if mb != uint64(len(md.devs[id].m)) {
				t.Fatalf("mapped blocks %d, model %d", mb, len(md.devs[id].m))
			}
			th.Close()
		case r < 930:
			must(p.SetTransactionID(md.trans, md.trans+1))
			md.trans++
		case r < 960:
			if p.HeldRoot() == 0 {
				must(p.ReserveMetadataSnap())
			} else {
				must(p.ReleaseMetadataSnap())
			}
		case r < 975:
			must(p.Close())
			p, err = Open(f, Options{CacheBlocks: 64})
			must(err)
		case r < 990:
			must(p.Commit())
		default:
			verify()
		}
	}
	verify()
	if p.HeldRoot() != 0 {
		thinDump(t, path, "-m")
	}
	t.Logf("seed %d: %d devices, %d thin_check runs", seed, len(md.devs), checks)
}
