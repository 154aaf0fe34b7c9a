package switchtarget

import (
	"syscall"

	"github.com/gdmsetup/gdmsetup/targets"
)

// Message is switch_message: `set_region_mappings` (any case) with its
// arguments; any other verb is refused with EINVAL and the kernel's
// warning. Messages to every switch target run one at a time (messageMu).
//
// As in the kernel, the arguments are applied one by one: a bad one fails
// the message with EINVAL after the ones before it changed the table.
func (s *Switch) Message(args []string) (string, error) {
	messageMu.Lock()
	defer messageMu.Unlock()
	if targets.LowerASCII(args[0]) != "set_region_mappings" {
		s.logf("switch: Unrecognised message received.")
		return "", syscall.EINVAL
	}
	return "", s.setRegionMappings(args[1:])
}

// cursor reads an argument as the kernel walks its C string: past the end
// is the terminating NUL.
type cursor struct {
	s string
	i int
}

func (c *cursor) peek() byte {
	if c.i < len(c.s) {
		return c.s[c.i]
	}
	return 0
}

// hex is parse_hex: hex digits (either case) up to the first other byte,
// wrapping at 64 bits; 0 when there are none.
func (c *cursor) hex() uint64 {
	var v uint64
	for {
		d := hexDigit(c.peek())
		if d < 0 {
			return v
		}
		v = v<<4 | uint64(d)
		c.i++
	}
}

func hexDigit(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b-'a') + 10
	case 'A' <= b && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

// setRegionMappings is process_set_region_mappings. Each argument, in hex:
//
//	INDEX:PATH  region INDEX maps to PATH
//	:PATH       the region after the last one set maps to PATH
//	RLEN,COUNT  (R in either case) the COUNT regions after the last one
//	            set repeat the pattern of the LEN regions before them
//
// The last region set starts at 0. Errors are the kernel's warnings, each
// with EINVAL. The caller holds messageMu.
func (s *Switch) setRegionMappings(args []string) error {
	rt := s.regions
	var region uint64
	for _, arg := range args {
		c := cursor{s: arg}
		invalid := func() error {
			s.logf("switch: invalid set_region_mappings argument: '%s'", arg)
			return syscall.EINVAL
		}
		if c.peek()&0xdf == 'R' {
			c.i++
			if c.peek() == ',' {
				return invalid()
			}
			cycle := c.hex()
			if c.peek() != ',' {
				return invalid()
			}
			c.i++
			if c.peek() == 0 {
				return invalid()
			}
			count := c.hex()
			if c.peek() != 0 {
				return invalid()
			}
			if cycle == 0 || cycle-1 > region {
				s.logf("switch: invalid set_region_mappings cycle length: %d > %d", cycle-1, region)
				return syscall.EINVAL
			}
			if region+count < region || region+count >= rt.nrRegions {
				s.logf("switch: invalid set_region_mappings region number: %d + %d >= %d", region, count, rt.nrRegions)
				return syscall.EINVAL
			}
			for ; count > 0; count-- {
				region++
				rt.set(region, rt.get(region-cycle))
			}
			continue
		}
		if c.peek() == ':' {
			region++
		} else {
			region = c.hex()
			if c.peek() != ':' {
				return invalid()
			}
		}
		c.i++
		if c.peek() == 0 {
			return invalid()
		}
		p := c.hex()
		if c.peek() != 0 {
			return invalid()
		}
		if region >= rt.nrRegions {
			s.logf("switch: invalid set_region_mappings region number: %d >= %d", region, rt.nrRegions)
			return syscall.EINVAL
		}
		if p >= uint64(len(s.paths)) {
			s.logf("switch: invalid set_region_mappings device: %d >= %d", p, len(s.paths))
			return syscall.EINVAL
		}
		rt.set(region, uint32(p))
	}
	return nil
}
