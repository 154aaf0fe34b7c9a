// Command gdmsetup is the Linux device-mapper in user space: dmsetup's
// commands and tables over regular files, the kernel's targets, thin and
// clone metadata in the kernel's format, and NBD export of mapped devices.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
