package linear

import "fmt"

// Measure is dm-linear's STATUSTYPE_IMA: "...,device_name=DEV,start=OFFSET;".
func (l *Linear) Measure() string {
	return fmt.Sprintf("%s,device_name=%s,start=%d;", Type.MeasureHead(), l.dev.Name(), l.offsetSector)
}
