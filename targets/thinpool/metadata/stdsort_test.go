package metadata

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cxxSortProgram reads cases "n k0 k1 ..." (one a line) and prints, for each,
// the original indexes in std::sort's order then in std::partial_sort's
// (its heapsort, the introsort's fallback), elements compared by key alone.
const cxxSortProgram = `#include <algorithm>
#include <iostream>
#include <vector>
struct e { unsigned long key, id; };
static bool lt(e const &a, e const &b) { return a.key < b.key; }
static void put(std::vector<e> const &v) {
	for (size_t i = 0; i < v.size(); i++) std::cout << (i ? " " : "") << v[i].id;
	std::cout << "\n";
}
int main() {
	size_t n;
	while (std::cin >> n) {
		std::vector<e> v(n);
		for (size_t i = 0; i < n; i++) { std::cin >> v[i].key; v[i].id = i; }
		std::vector<e> h = v;
		std::sort(v.begin(), v.end(), lt);
		put(v);
		std::partial_sort(h.begin(), h.end(), h.end(), lt);
		put(h);
	}
}
`

type sortElem struct{ key, id uint64 }

func lessKey(a, b *sortElem) bool { return a.key < b.key }

func idsLine(s []sortElem) string {
	var b strings.Builder
	for i, e := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, e.id)
	}
	return b.String()
}

func TestStdSortMatchesLibstdcxx(t *testing.T) {
	gxx, err := exec.LookPath("g++")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("g++ not installed")
		}
		t.Skip("g++ not installed")
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "sort.cc"), filepath.Join(dir, "sort")
	if err := os.WriteFile(src, []byte(cxxSortProgram), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gxx, "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("g++: %v\n%s", err, out)
	}
	rng := rand.New(rand.NewSource(7))
	var cases [][]sortElem
	for _, n := range []int{0, 1, 2, 3, 15, 16, 17, 18, 31, 33, 64, 100, 257, 1000, 3000} {
		for _, keyRange := range []int{1, 2, 5, n/3 + 1, 4 * n} {
			c := make([]sortElem, n)
			for i := range c {
				c[i] = sortElem{key: uint64(rng.Intn(keyRange + 1)), id: uint64(i)}
			}
			cases = append(cases, c)
			sorted := append([]sortElem(nil), c...)
			for i := range sorted {
				sorted[i].key = uint64(i / 3)
			}
			cases = append(cases, sorted)
			rev := append([]sortElem(nil), sorted...)
			for i := range rev {
				rev[i].key = uint64((n - i) / 2)
			}
			cases = append(cases, rev)
		}
	}
	for _, n := range []int{100, 1000} {
		cases = append(cases, antiqsort(n))
	}
	var in bytes.Buffer
	for _, c := range cases {
		fmt.Fprint(&in, len(c))
		for _, e := range c {
			fmt.Fprint(&in, " ", e.key)
		}
		in.WriteByte('\n')
	}
	cmd := exec.Command(bin)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for i, c := range cases {
		got := append([]sortElem(nil), c...)
		stdSort(got, lessKey)
		heap := append([]sortElem(nil), c...)
		makeHeap(heap, lessKey)
		sortHeap(heap, lessKey)
		for _, g := range []struct {
			what string
			s    []sortElem
		}{{"std::sort", got}, {"std::partial_sort", heap}} {
			if !sc.Scan() {
				t.Fatalf("case %d: C++ output ended", i)
			}
			if want := sc.Text(); idsLine(g.s) != want {
				t.Fatalf("case %d (n=%d) %s order differs:\n got %s\nwant %s", i, len(c), g.what, idsLine(g.s), want)
			}
		}
	}
}

// antiqsort returns n keys on which stdSort's quicksort runs out of depth
// and falls back to heapsort: McIlroy's adversary ("A killer adversary for
// quicksort") decides each key only when a comparison needs it.
func antiqsort(n int) []sortElem {
	const gas = ^uint64(0)
	val := make([]uint64, n)
	for i := range val {
		val[i] = gas
	}
	var solid uint64
	candidate := -1
	less := func(a, b *sortElem) bool {
		x, y := int(a.id), int(b.id)
		if val[x] == gas && val[y] == gas {
			if x == candidate {
				val[x] = solid
			} else {
				val[y] = solid
			}
			solid++
		}
		if val[x] == gas {
			candidate = x
		} else if val[y] == gas {
			candidate = y
		}
		return val[x] < val[y]
	}
	s := make([]sortElem, n)
	for i := range s {
		s[i].id = uint64(i)
	}
	stdSort(s, less)
	c := make([]sortElem, n)
	for i := range c {
		if val[i] == gas {
			val[i] = solid
			solid++
		}
		c[i] = sortElem{key: val[i], id: uint64(i)}
	}
	return c
}
