package spacemap

// threshold is an edge-triggered low-free-space callback.
type threshold struct {
	set       bool
	value     uint64
	fn        func()
	triggered bool
}

type freeCounter interface{ NrFree() (uint64, error) }

func (t *threshold) check(sm freeCounter) {
	if !t.set {
		return
	}
	free, err := sm.NrFree()
	if err != nil {
		return
	}
	if free > t.value {
		t.triggered = false
		return
	}
	if !t.triggered {
		t.triggered = true
		t.fn()
	}
}
