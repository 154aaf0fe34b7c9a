package table_test

import (
	"errors"
	"fmt"

	"github.com/gdmsetup/gdmsetup/table"
)

func ExampleParse() {
	lines, err := table.Parse("# two halves\n0 1024 linear /dev/loop0 0\n1024 1024 zero  # the rest\n")
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Printf("%d+%d %s %q %q\n", l.Start, l.Length, l.Type, l.Params, table.SplitArgs(l.Params))
	}
	fmt.Print(table.Format(lines))

	_, err = table.Parse("0 1024 linear /dev/loop0 0\n1024")
	var perr *table.ParseError
	if errors.As(err, &perr) {
		fmt.Printf("Invalid format on line %d of table: %v\n", perr.Pos.Line, err)
	}
	// Output:
	// 0+1024 linear "/dev/loop0 0" ["/dev/loop0" "0"]
	// 1024+1024 zero "" []
	// 0 1024 linear /dev/loop0 0
	// 1024 1024 zero
	// Invalid format on line 2 of table: line 2, column 5: expected a length
}

func ExampleParseConcise() {
	devs, err := table.ParseConcise(`dev1,,,,0 100 linear 253:1 0,100 100 error;dev2,,7,ro,0 1 linear /dev/a\,b 0`)
	if err != nil {
		panic(err)
	}
	for _, d := range devs {
		fmt.Printf("%s minor=%v flags=%q lines=%d\n", d.Name, d.Minor != nil, d.Flags, len(d.Table))
	}
	fmt.Println(table.FormatConcise(devs))

	_, err = table.ParseConcise("dev1,,,RO,0 1 zero")
	fmt.Println(err)
	// Output:
	// dev1 minor=false flags="" lines=2
	// dev2 minor=true flags="ro" lines=1
	// dev1,,,,0 100 linear 253:1 0,100 100 error ;dev2,,7,ro,0 1 linear /dev/a\,b 0
	// concise device 1 (line 1, column 8): Invalid flags parameter 'RO' must be 'ro' or 'rw' or empty.
}
