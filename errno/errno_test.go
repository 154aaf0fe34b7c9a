package errno

import (
	"fmt"
	"syscall"
	"testing"
)

func TestNamesAndTexts(t *testing.T) {
	cases := []struct {
		e          syscall.Errno
		name, text string
	}{
		{syscall.EINVAL, "-EINVAL", "Invalid argument"},
		{syscall.ENODEV, "-ENODEV", "No such device"},
		{syscall.ENXIO, "-ENXIO", "No such device or address"},
		{syscall.EIO, "-EIO", "Input/output error"},
		{syscall.Errno(200), "-200", "Unknown error 200"},
	}
	for _, c := range cases {
		if got := Name(c.e); got != c.name {
			t.Errorf("Name(%d) = %q, want %q", c.e, got, c.name)
		}
		if got := Text(c.e); got != c.text {
			t.Errorf("Text(%d) = %q, want %q", c.e, got, c.text)
		}
	}
}

func TestOf(t *testing.T) {
	if got := Of(fmt.Errorf("block 7: %w", syscall.ENOSPC)); got != syscall.ENOSPC {
		t.Errorf("Of(wrapped ENOSPC) = %v", got)
	}
	if got := Of(fmt.Errorf("plain")); got != syscall.EIO {
		t.Errorf("Of(plain) = %v, want EIO", got)
	}
}
