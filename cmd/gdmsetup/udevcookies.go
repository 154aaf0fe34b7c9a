package main

import "fmt"

// cmdUdevCookies is `udevcookies`: dmsetup's heading over the cookies in
// use, of which gdmsetup has none (see udev_cookie.go).
func cmdUdevCookies(e *env) error {
	fmt.Fprintln(e.stdout, "Cookie       Semid      Value      Last semop time           Last change time")
	return nil
}
