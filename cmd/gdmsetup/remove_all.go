package main

// cmdRemoveAll is `remove_all`: every device goes, users first.
func cmdRemoveAll(e *env) error {
	return e.reg.RemoveAll()
}
