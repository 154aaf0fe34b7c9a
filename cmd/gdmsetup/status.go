package main

// cmdStatus is `status [NAME...]`: each target's status line.
func cmdStatus(e *env) error {
	return printLines(e, "status", true)
}
