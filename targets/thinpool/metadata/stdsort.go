package metadata

import "math/bits"

// stdSort sorts s by less exactly as libstdc++'s std::sort does (GCC's
// introsort, unchanged since GCC 4): the same comparisons and moves, so
// elements that compare equal end in the same order as in a C++ tool built
// with it (thin_rmap sorts its reverse map that way, and ties are common).
//
// The steps: an introsort loop over parts longer than 16 elements
// (depth limit 2*floor(log2 n); median of s[1], s[mid], s[last-1] moved to
// s[0] as pivot; unguarded Hoare partition; recursion on the right part,
// iteration on the left; heapsort when the depth runs out), then a
// final insertion sort, guarded over the first 16 elements and unguarded
// past them.
func stdSort[T any](s []T, less func(a, b *T) bool) {
	if len(s) == 0 {
		return
	}
	introsortLoop(s, 2*(bits.Len(uint(len(s)))-1), less)
	finalInsertionSort(s, less)
}

// sortThreshold is libstdc++'s _S_threshold.
const sortThreshold = 16

func introsortLoop[T any](s []T, depthLimit int, less func(a, b *T) bool) {
	for len(s) > sortThreshold {
		if depthLimit == 0 {
			makeHeap(s, less)
			sortHeap(s, less)
			return
		}
		depthLimit--
		cut := partitionPivot(s, less)
		introsortLoop(s[cut:], depthLimit, less)
		s = s[:cut]
	}
}

// partitionPivot is __unguarded_partition_pivot: it returns the cut index.
func partitionPivot[T any](s []T, less func(a, b *T) bool) int {
	last := len(s)
	moveMedianToFirst(s, 0, 1, last/2, last-1, less)
	first := 1
	for {
		for less(&s[first], &s[0]) {
			first++
		}
		last--
		for less(&s[0], &s[last]) {
			last--
		}
		if first >= last {
			return first
		}
		s[first], s[last] = s[last], s[first]
		first++
	}
}

// moveMedianToFirst swaps the median of s[a], s[b], s[c] into s[result].
func moveMedianToFirst[T any](s []T, result, a, b, c int, less func(x, y *T) bool) {
	var m int
	switch {
	case less(&s[a], &s[b]):
		switch {
		case less(&s[b], &s[c]):
			m = b
		case less(&s[a], &s[c]):
			m = c
		default:
			m = a
		}
	case less(&s[a], &s[c]):
		m = a
	case less(&s[b], &s[c]):
		m = c
	default:
		m = b
	}
	s[result], s[m] = s[m], s[result]
}

func finalInsertionSort[T any](s []T, less func(a, b *T) bool) {
	if len(s) <= sortThreshold {
		insertionSort(s, less)
		return
	}
	insertionSort(s[:sortThreshold], less)
	for i := sortThreshold; i < len(s); i++ {
		unguardedLinearInsert(s, i, less)
	}
}

func insertionSort[T any](s []T, less func(a, b *T) bool) {
	for i := 1; i < len(s); i++ {
		if less(&s[i], &s[0]) {
			v := s[i]
			copy(s[1:i+1], s[:i])
			s[0] = v
		} else {
			unguardedLinearInsert(s, i, less)
		}
	}
}

// unguardedLinearInsert moves s[i] left past every element greater than it;
// some element to its left must not be greater.
func unguardedLinearInsert[T any](s []T, i int, less func(a, b *T) bool) {
	v := s[i]
	for less(&v, &s[i-1]) {
		s[i] = s[i-1]
		i--
	}
	s[i] = v
}

func makeHeap[T any](s []T, less func(a, b *T) bool) {
	n := len(s)
	if n < 2 {
		return
	}
	for parent := (n - 2) / 2; ; parent-- {
		adjustHeap(s, parent, n, s[parent], less)
		if parent == 0 {
			return
		}
	}
}

func sortHeap[T any](s []T, less func(a, b *T) bool) {
	for last := len(s) - 1; last > 0; last-- {
		v := s[last]
		s[last] = s[0]
		adjustHeap(s, 0, last, v, less)
	}
}

// adjustHeap is __adjust_heap: sift the hole at hole down to a leaf of the
// heap s[:n], then push v up from there.
func adjustHeap[T any](s []T, hole, n int, v T, less func(a, b *T) bool) {
	top := hole
	child := hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if less(&s[child], &s[child-1]) {
			child--
		}
		s[hole] = s[child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		s[hole] = s[child-1]
		hole = child - 1
	}
	parent := (hole - 1) / 2
	for hole > top && less(&s[parent], &v) {
		s[hole] = s[parent]
		hole = parent
		parent = (hole - 1) / 2
	}
	s[hole] = v
}
