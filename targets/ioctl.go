package targets

import "unsafe"

func uintptrOf(r *[2]uint64) uintptr { return uintptr(unsafe.Pointer(r)) }
