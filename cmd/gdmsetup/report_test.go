package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestReportFields runs info -c over a small stack: files print as paths
// where the kernel prints a disk's major:minor or name.
func TestReportFields(t *testing.T) {
	s := newSandbox(t)
	a := s.file("a.img", 8<<20)
	s.ok("", "create", "lin", "--uuid", "LVM-x", "--table", "0 2048 linear a.img 0")
	s.ok("", "create", "top", "--table", "0 1024 linear /dev/mapper/lin 0")
	s.ok("", "create", "top2", "--table", "0 1024 linear /dev/mapper/lin 1024")
	s.ok("", "create", "empty", "--notable")
	w := len(a) // the path widens its columns
	s.expect(args("info -c -o name,device_count,devs_used,devnos_used,blkdevs_used lin top"), "",
		fmt.Sprintf("Name             #Devs DevNamesUsed     %-*s %-*s\n", w, "DevNosUsed", w, "BlkDevNamesUsed")+
			fmt.Sprintf("lin                  1                  %s %s\n", a, a)+
			fmt.Sprintf("top                  1 lin              %-*s %-*s\n", w, "253:0", w, "dm-0"), "", 0)
	s.expect(args("info -c -o name,device_ref_count,names_using_dev,devnos_using_dev lin top"), "",
		"Name             #Refs RefNames RefDevNos  \nlin                  2 top,top2 253:1,253:2\ntop                  0                     \n", "", 0)
	s.expect(args("info -c --noheadings -o name,subsystem,vg_name,lv_name,lv_layer lin top"), "", "lin:LVM:lin::\ntop::::\n", "", 0)
	s.expect(args("info -c --noheadings -o name,tables_loaded,suspended,readonly,devno,read_ahead"), "",
		"empty:None:Active:Writeable:253:3:0\nlin:Live:Active:Writeable:253:0:256\ntop:Live:Active:Writeable:253:1:256\ntop2:Live:Active:Writeable:253:2:256\n",
		"/dev/mapper/empty: open failed: No such file or directory\n", 0)
	// a device that never had a table has no block device: its row is dropped, the command fails
	s.expect(args("info -c --noheadings -o name,blkdevname"), "", "lin:dm-0\ntop:dm-1\ntop2:dm-2\n",
		"Could not resolve block device name for 253:3.\n_do_report_object: report function failed for field blkdevname\nCommand failed.\n", 1)
	// field names: case and underscores do not matter; PREFIX_all selects a group
	s.expect(args("info -c --noheadings -o NAME,Device_Count,devicerefcount lin"), "", "lin:1:2\n", "", 0)
	s.expect(args("info -c --noheadings -o name,tree_all top"), "", "top:lin:0::\n", "", 0)
	s.expect(args("info -c --noheadings -o deps_all top"), "", "1:253:0:dm-0\n", "", 0)
	// -o help and unknown fields list the fields on stderr
	r := s.run("", args("info -c -o help")...)
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "Mapped Device Name Fields\n-------------------------\n  name_all ") ||
		!strings.Contains(r.stderr, "  devnos_using_dev      - ") || !strings.HasSuffix(r.stderr, "Special Fields\n--------------\n  selected              - Set if item passes selection criteria.\n  help                  - Show help.\n  ?                     - Show help.\n \n") {
		t.Fatalf("info -c -o help: %+v", r)
	}
	r = s.run("", args("info -c -o name,bogus")...)
	if r.code != 1 || !strings.HasSuffix(r.stderr, " \nUnrecognised field: bogus\n") {
		t.Fatalf("info -c -o name,bogus: %+v", r)
	}
	r = s.run("", args("info -c -O bogus")...)
	if r.code != 1 || !strings.HasSuffix(r.stderr, " \ndm_report: Unrecognised field: bogus\n") {
		t.Fatalf("info -c -O bogus: %+v", r)
	}
}

// TestReportLayout covers the output forms: sorting, rows, name prefixes,
// separators, and no output at all when nothing is selected.
func TestReportLayout(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "b", "--uuid", "U-B", "--table", "0 8 zero")
	s.ok("", "create", "a", "--table", "0 8 zero\n8 8 zero")
	s.expect(args("info -c -o name,minor -O -minor"), "", "Name             Min\na                  1\nb                  0\n", "", 0)
	s.expect(args("info -c -o name -O segments,-name"), "", "Name            \nb               \na               \n", "", 0)
	s.expect(args("info -c --rows -o name,uuid,segments"), "", "Name a b\nUUID  U-B\nTarg 2 1\n", "", 0)
	s.expect(args("info -c --rows --noheadings --separator , -o name,segments"), "", "a,b\n2,1\n", "", 0)
	s.expect(args("info -c --nameprefixes -o name,uuid"), "", "Name UUID\nDM_NAME='a' DM_UUID=''\nDM_NAME='b' DM_UUID='U-B'\n", "", 0)
	s.expect(args("info -c --nameprefixes --unquoted --noheadings -o name,open"), "", "DM_NAME=a:DM_OPEN=0\nDM_NAME=b:DM_OPEN=0\n", "", 0)
	s.expect(args("info -c -o name -S name=nosuch"), "", "", "", 0)
	s.expect(args("info -c --noheadings -o +segments a"), "", "a:253:1:L--w:0:2:0::2\n", "", 0)
}

func TestReportSelection(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "vg-one", "--uuid", "LVM-1", "--table", "0 8 zero")
	s.ok("", "create", "vg-two", "--table", "0 8 zero\n8 8 zero")
	s.ok("", "create", "other", "--readonly", "--table", "0 8 zero")
	for _, c := range []struct{ sel, want string }{
		{"name=other", "other"},
		{"name!=other", "vg-one vg-two"},
		{"segments>1", "vg-two"},
		{"segments>=1 && segments<=1", "other vg-one"},
		{"segments<2, name=~^vg", "vg-one"},
		{"name=~one$ || name=~^o", "other vg-one"},
		{"name=~one$ # attr=L--r", "other vg-one"},
		{"name!~^vg", "other"},
		{"!(name=other)", "vg-one vg-two"},
		{"(segments=2 || uuid=LVM-1) && name=~vg", "vg-one vg-two"},
		{"uuid=''", "other vg-two"},
		{`uuid="LVM-1"`, "vg-one"},
		{" name = other ", "other"},
		{"vg_name=vg", "vg-one"},
	} {
		got := strings.Join(strings.Fields(s.ok("", "info", "-c", "--noheadings", "-o", "name", "-S", c.sel)), " ")
		if got != c.want {
			t.Errorf("-S %q: got %q, want %q", c.sel, got, c.want)
		}
	}
	for _, c := range []struct{ sel, first string }{
		{"bogus=1", "  ?                     - Show help. [unselectable number]\n \nUnrecognised selection field: bogus\nSelection syntax error at 'bogus=1'.\n"},
		{"name", "Unrecognised comparison operator: \nSelection syntax error at 'name'.\n"},
		{"segments=x", "Failed to parse numeric value for selection field segments.\nSelection syntax error at 'segments=x'.\n"},
		{"name>a", "Operator can be used only with number, size, time or percent fields: name\nSelection syntax error at 'name>a'.\n"},
		{"segments=~1", "Regular expression expected for selection field segments\n"},
		{"name=~'('", "Failed to parse regex value for selection field name.\n"},
		{"name='x", "Missing end quote.\n"},
		{"(name=x", "Syntax error: right parenthesis expected at ''\n"},
		{"!name=x", "Syntax error: left parenthesis expected at 'name=x'\n"},
		{"name=x y", "Expecting logical operator\nSelection syntax error at 'y'.\n"},
	} {
		r := s.run("", "info", "-c", "-S", c.sel)
		// refused while the report is set up: no "Command failed."
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, c.first) || strings.Contains(r.stderr, "Command failed.") {
			t.Errorf("-S %q: %+v", c.sel, r)
		}
	}
}
