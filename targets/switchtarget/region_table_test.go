package switchtarget

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// newBare is a Switch of nrPaths paths without devices, for what needs
// only the region table and the log: messages, saved state.
func newBare(t testing.TB, lenSectors uint64, regionSectors, nrPaths uint32) (*Switch, *strings.Builder) {
	t.Helper()
	rt, err := newRegionTable(lenSectors, regionSectors, nrPaths)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	s := &Switch{paths: make([]path, nrPaths), regionSectors: regionSectors, lenSectors: lenSectors, regions: rt,
		logf: func(format string, args ...any) { fmt.Fprintf(&log, "device-mapper: "+format+"\n", args...) }}
	return s, &log
}

// mapping is the table's entries as a string of path digits.
func mapping(rt *regionTable) string {
	var b strings.Builder
	for r := uint64(0); r < rt.nrRegions; r++ {
		fmt.Fprintf(&b, "%x", rt.get(r))
	}
	return b.String()
}

// TestEntryWidth: an entry is the fewest bits (at least 1) that hold every
// path number, and a slot holds as many whole entries as fit in 64 bits.
func TestEntryWidth(t *testing.T) {
	for _, c := range []struct {
		nrPaths        uint32
		bits           uint
		entriesPerSlot uint64
	}{{1, 1, 64}, {2, 1, 64}, {3, 2, 32}, {4, 2, 32}, {5, 3, 21}, {8, 3, 21}, {9, 4, 16}, {17, 5, 12}, {maxPaths, 18, 3}} {
		rt, err := newRegionTable(100, 1, c.nrPaths)
		if err != nil {
			t.Fatal(err)
		}
		if rt.entryBits != c.bits || rt.entriesPerSlot != c.entriesPerSlot {
			t.Errorf("%d paths: %d bits, %d per slot; want %d, %d", c.nrPaths, rt.entryBits, rt.entriesPerSlot, c.bits, c.entriesPerSlot)
		}
	}
}

// TestRoundRobin: region r starts on path r mod n, for path counts whose
// slot pattern repeats after one slot or many, the last region short or not.
func TestRoundRobin(t *testing.T) {
	for _, nrPaths := range []uint32{1, 2, 3, 5, 7, 12, 21, 1000} {
		for _, lenSectors := range []uint64{1, 63, 64, 1000, 12345} {
			rt, err := newRegionTable(lenSectors, 3, nrPaths)
			if err != nil {
				t.Fatal(err)
			}
			if want := (lenSectors + 2) / 3; rt.nrRegions != want {
				t.Fatalf("%d sectors in regions of 3: %d regions, want %d", lenSectors, rt.nrRegions, want)
			}
			for r := uint64(0); r < rt.nrRegions; r++ {
				if got := rt.get(r); uint64(got) != r%uint64(nrPaths) {
					t.Fatalf("%d paths, %d regions: region %d on path %d, want %d", nrPaths, rt.nrRegions, r, got, r%uint64(nrPaths))
				}
			}
		}
	}
}

// TestTableLargerThanMemory: a region table bigger than the machine's
// memory fails as vmalloc does, before anything is allocated.
func TestTableLargerThanMemory(t *testing.T) {
	_, err := newRegionTable(1<<54-1, 1, 2) // 2^48 slots: 2 PiB
	if err == nil || err.Error() != "Cannot allocate region table" || !errors.Is(err, syscall.ENOMEM) {
		t.Fatalf("error %v, want Cannot allocate region table (ENOMEM)", err)
	}
}

// TestSetRegionMappings: each form of the grammar on a 16-region, 3-path
// table, from round robin (012012012012012 0).
func TestSetRegionMappings(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "0120120120120120"},
		{[]string{"0:2", "1:2", ":2"}, "2220120120120120"},
		{[]string{"a:1", "B:0", ":2", "r3,2"}, "0120120120102100"},
		{[]string{"0:0", ":1", "R2,d"}, "0101010101010100"},
		{[]string{"00000000000000000000000000000003:1", ":00002", "f:1"}, "0121220120120121"},
		{[]string{"5:1", "R1,3"}, "0120111110120120"},
		{[]string{"1:1", ":0", "R2,d"}, "0101010101010101"},
	} {
		s, log := newBare(t, 16*128, 128, 3)
		if err := s.setRegionMappings(c.args); err != nil {
			t.Errorf("%q: %v, log %q", c.args, err, log.String())
		}
		if got := mapping(s.regions); got != c.want {
			t.Errorf("%q: mapping %s, want %s", c.args, got, c.want)
		}
	}
}

// TestSetRegionMappingsErrors: the kernel's warnings, each with EINVAL;
// the arguments before the bad one stay applied. EMPTY is an empty word.
func TestSetRegionMappingsErrors(t *testing.T) {
	for _, c := range []struct {
		args    string
		log     string
		mapping string
	}{
		{"x:1", "invalid set_region_mappings argument: 'x:1'", ""},
		{"EMPTY", "invalid set_region_mappings argument: ''", ""},
		{"1:", "invalid set_region_mappings argument: '1:'", ""},
		{"1:2x", "invalid set_region_mappings argument: '1:2x'", ""},
		{"1", "invalid set_region_mappings argument: '1'", ""},
		{":", "invalid set_region_mappings argument: ':'", ""},
		{"10:1", "invalid set_region_mappings region number: 16 >= 16", ""},
		{"11112222333344445555:0", "invalid set_region_mappings region number: 2459584641779389781 >= 16", ""},
		{"0:3", "invalid set_region_mappings device: 3 >= 3", ""},
		{"R,1", "invalid set_region_mappings argument: 'R,1'", ""},
		{"R1", "invalid set_region_mappings argument: 'R1'", ""},
		{"R1,", "invalid set_region_mappings argument: 'R1,'", ""},
		{"R1,2x", "invalid set_region_mappings argument: 'R1,2x'", ""},
		{"Rx,1", "invalid set_region_mappings argument: 'Rx,1'", ""},
		{"R0,1", "invalid set_region_mappings cycle length: 18446744073709551615 > 0", ""},
		{"R2,1", "invalid set_region_mappings cycle length: 1 > 0", ""},
		{"f:0 R1,1", "invalid set_region_mappings region number: 15 + 1 >= 16", "0120120120120120"},
		{"1:0 R1,ffffffffffffffff", "invalid set_region_mappings region number: 1 + 18446744073709551615 >= 16", "0020120120120120"},
		{"0:1 R1,fffffffffffffffe", "invalid set_region_mappings region number: 0 + 18446744073709551614 >= 16", "1120120120120120"},
		{"0:0 1:0 2:1 zz 3:0", "invalid set_region_mappings argument: 'zz'", "0010120120120120"},
	} {
		s, log := newBare(t, 16*128, 128, 3)
		args := strings.Fields(c.args)
		if c.args == "EMPTY" {
			args = []string{""}
		}
		if err := s.setRegionMappings(args); err != syscall.EINVAL {
			t.Errorf("%q: error %v, want EINVAL", c.args, err)
		}
		if want := "device-mapper: switch: " + c.log + "\n"; log.String() != want {
			t.Errorf("%q: log %q, want %q", c.args, log.String(), want)
		}
		if c.mapping == "" {
			c.mapping = "0120120120120120"
		}
		if got := mapping(s.regions); got != c.mapping {
			t.Errorf("%q: mapping after the failure %s, want %s", c.args, got, c.mapping)
		}
	}
}

// TestMessageVerbs: the verb in any case; any other is refused with the
// kernel's warning.
func TestMessageVerbs(t *testing.T) {
	s, log := newBare(t, 1024, 128, 2)
	if _, err := s.Message([]string{"Set_Region_Mappings", "0:1"}); err != nil || s.regions.get(0) != 1 {
		t.Fatalf("mixed-case verb: %v, region 0 on %d", err, s.regions.get(0))
	}
	for _, verb := range []string{"set_region_mapping", "foo", "set_region_mappingſ"} {
		log.Reset()
		if _, err := s.Message([]string{verb, "0:0"}); err != syscall.EINVAL {
			t.Errorf("%q: %v, want EINVAL", verb, err)
		}
		if log.String() != "device-mapper: switch: Unrecognised message received.\n" {
			t.Errorf("%q: log %q", verb, log.String())
		}
	}
	if s.regions.get(0) != 1 {
		t.Fatal("a refused verb changed the table")
	}
}

// TestSavedState: an unchanged table saves nothing; a changed one comes
// back whole; saved state that does not fit the table is refused.
func TestSavedState(t *testing.T) {
	s, _ := newBare(t, 1000*7, 7, 5)
	if got := s.SaveState(); got != "" {
		t.Fatalf("unchanged table saved %q", got)
	}
	if err := s.setRegionMappings([]string{"0:4", "1:3", "R2,3e5", "3e7:1"}); err != nil {
		t.Fatal(err)
	}
	saved := s.SaveState()
	back, _ := newBare(t, 1000*7, 7, 5)
	if err := back.regions.restore(saved, 5); err != nil {
		t.Fatal(err)
	}
	if mapping(back.regions) != mapping(s.regions) {
		t.Fatal("restored table differs")
	}
	if back.SaveState() != saved {
		t.Fatal("a restored table saves differently")
	}
	six, _ := newBare(t, 1000*7, 7, 6)
	if err := six.setRegionMappings([]string{"2:5"}); err != nil {
		t.Fatal(err)
	}
	fewer, _ := newBare(t, 1000*7, 7, 5) // the same slots (3 bits), no path 5
	if err := fewer.regions.restore(six.SaveState(), 5); err == nil || !strings.Contains(err.Error(), "maps region 2 to path 5 of 5") {
		t.Errorf("restore into 5 paths: %v", err)
	}
	shorter, _ := newBare(t, 10*7, 7, 5)
	if err := shorter.regions.restore(saved, 5); err == nil || !strings.Contains(err.Error(), "want 8 (1 slots)") {
		t.Errorf("restore into a shorter table: %v", err)
	}
	for _, bad := range []string{"garbage", savedPrefix + "!!!", savedPrefix + "AAAA"} {
		if err := back.regions.restore(bad, 5); err == nil {
			t.Errorf("restore of %q accepted", bad)
		}
	}
}

// TestMessagesWhileReading: lookups run without a lock while messages
// rewrite the table (go test -race): every lookup sees a path the table
// had or has, never a torn slot.
func TestMessagesWhileReading(t *testing.T) {
	s, _ := newBare(t, 4096, 1, 3)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Message([]string{"set_region_mappings", fmt.Sprintf("0:%d", i%3), "R1,ffe"}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 20000; i++ {
		if p := s.regions.get(uint64(i % 4096)); p > 2 {
			t.Fatalf("region %d on path %d", i%4096, p)
		}
	}
	close(stop)
	wg.Wait()
}

// BenchmarkSetRegionMappings loads a million explicit entries in one
// message, the kernel's own measure of its parser.
func BenchmarkSetRegionMappings(b *testing.B) {
	const n = 1 << 20
	args := make([]string, n)
	for i := range args {
		args[i] = fmt.Sprintf("%x:%x", i, i%3)
	}
	s, _ := newBare(b, n, 1, 3)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.setRegionMappings(args); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup is the per-I/O cost of finding a region's path.
func BenchmarkLookup(b *testing.B) {
	s, _ := newBare(b, 1<<20, 8, 3)
	for i := 0; i < b.N; i++ {
		s.locate(uint64(i) & (1<<20 - 1))
	}
}
