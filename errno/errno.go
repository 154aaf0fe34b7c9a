// Package errno names Linux error numbers the way the kernel and glibc print them:
// the kernel's symbolic form ("-EINVAL", as %pe prints it) and strerror's text
// ("Invalid argument"), which Go's syscall package spells in lower case.
package errno

import (
	"errors"
	"fmt"
	"syscall"
)

type entry struct {
	name, text string
}

var table = map[syscall.Errno]entry{
	syscall.EPERM:      {"EPERM", "Operation not permitted"},
	syscall.ENOENT:     {"ENOENT", "No such file or directory"},
	syscall.E2BIG:      {"E2BIG", "Argument list too long"},
	syscall.EIO:        {"EIO", "Input/output error"},
	syscall.ENXIO:      {"ENXIO", "No such device or address"},
	syscall.EAGAIN:     {"EAGAIN", "Resource temporarily unavailable"},
	syscall.ENOMEM:     {"ENOMEM", "Cannot allocate memory"},
	syscall.EACCES:     {"EACCES", "Permission denied"},
	syscall.EBUSY:      {"EBUSY", "Device or resource busy"},
	syscall.EEXIST:     {"EEXIST", "File exists"},
	syscall.ENODEV:     {"ENODEV", "No such device"},
	syscall.ENOTBLK:    {"ENOTBLK", "Block device required"},
	syscall.EINVAL:     {"EINVAL", "Invalid argument"},
	syscall.EFBIG:      {"EFBIG", "File too large"},
	syscall.ENOSPC:     {"ENOSPC", "No space left on device"},
	syscall.EROFS:      {"EROFS", "Read-only file system"},
	syscall.ERANGE:     {"ERANGE", "Numerical result out of range"},
	syscall.EOVERFLOW:  {"EOVERFLOW", "Value too large for defined data type"},
	syscall.ENODATA:    {"ENODATA", "No data available"},
	syscall.EILSEQ:     {"EILSEQ", "Invalid or incomplete multibyte or wide character"},
	syscall.EOPNOTSUPP: {"EOPNOTSUPP", "Operation not supported"},
	syscall.ELOOP:      {"ELOOP", "Too many levels of symbolic links"},
	syscall.EINTR:      {"EINTR", "Interrupted system call"},
	syscall.ETIMEDOUT:  {"ETIMEDOUT", "Connection timed out"},
	syscall.ENOKEY:     {"ENOKEY", "Required key not available"},
}

// Name returns the kernel's symbolic form of e with its minus sign, e.g. "-EINVAL".
func Name(e syscall.Errno) string {
	if x, ok := table[e]; ok {
		return "-" + x.name
	}
	return fmt.Sprintf("%d", -int(e))
}

// Text returns glibc's strerror text for e, e.g. "Invalid argument".
func Text(e syscall.Errno) string {
	if x, ok := table[e]; ok {
		return x.text
	}
	return fmt.Sprintf("Unknown error %d", int(e))
}

// Of returns the errno inside err (via errors.As), or EIO when err carries none.
func Of(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// Or returns err when it carries an errno, else err wrapped with e as well.
func Or(err error, e syscall.Errno) error {
	var x syscall.Errno
	if errors.As(err, &x) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, e)
}
