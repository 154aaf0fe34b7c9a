package main

import "fmt"

// cmdUdevComplete is `udevcomplete COOKIE`, what udev rules run when they
// are done with a cookie's event: it prints the completion line; with no
// udev there is no semaphore to decrement.
func cmdUdevComplete(e *env) error {
	cookie, err := parseCookie(e.args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "DM_COOKIE_COMPLETED=0x%-10x\n", cookie)
	return nil
}
