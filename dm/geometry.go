package dm

import "syscall"

// SetGeometry is the kernel's DM_DEV_SET_GEOMETRY on the device name, with
// text as libdm sends it ("CYL HEAD SECT START"). It checks text as
// dev_set_geometry and dm_set_geometry do: four decimal numbers read as
// sscanf("%lu %lu %lu %lu%c") reads them (white space before each, nothing
// after the last), at most 65535 cylinders, 255 heads and 255 sectors per
// track, a start sector no greater than cylinders*heads*sectors; each
// failure logs the kernel's line and gives EINVAL, a missing device ENXIO.
//
// The geometry is not kept: the kernel gives it only to HDIO_GETGEO on the
// device node, and gdmsetup's devices have no node to ask.
func (r *Registry) SetGeometry(name, text string) error {
	if _, ok := r.Lookup(name); !ok {
		return r.ioctlErr("setgeometry", nil, name, syscall.ENXIO)
	}
	g, ok := scanGeometry(text)
	switch {
	case !ok:
		r.klogf("ioctl: Unable to interpret geometry settings.")
	case g[0] > 65535 || g[1] > 255 || g[2] > 255:
		r.klogf("ioctl: Geometry exceeds range limits.")
	case g[3] > g[0]*g[1]*g[2]:
		r.klogf("core: Start sector is beyond the geometry limits.")
	default:
		return nil
	}
	return r.ioctlErr("setgeometry", nil, name, syscall.EINVAL)
}

// scanGeometry reads four numbers as the kernel's sscanf(text, "%lu %lu
// %lu %lu%c") does and reports whether it matched exactly four: white space
// (the kernel's isspace) before each, decimal digits only (no sign), values
// wrapping modulo 2^64 as simple_strtoul's do, and nothing at all after the
// fourth.
func scanGeometry(text string) (g [4]uint64, ok bool) {
	i := 0
	for n := range g {
		for i < len(text) && kernelSpace(text[i]) {
			i++
		}
		if i == len(text) || text[i] < '0' || text[i] > '9' {
			return g, false
		}
		for ; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
			g[n] = g[n]*10 + uint64(text[i]-'0')
		}
	}
	return g, i == len(text)
}

// kernelSpace is the kernel's isspace: the C locale's white space and
// Latin-1's no-break space.
func kernelSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0
}
