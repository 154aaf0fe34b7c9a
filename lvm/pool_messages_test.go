package lvm

import (
	"slices"
	"strings"
	"testing"
)

// poolVG is a VG with pool p (metadata m, data d) at transaction 5 whose segment also holds
// msgs, thin volumes a (id 1), b (id 2, a snapshot of a) and c (id 3) in it, e in another
// pool q, and a zero LV z.
func poolVG(t *testing.T, msgs string) *VG {
	return planVG(t, lvText("p", rw, "", 2, "thin-pool", `metadata = "m" pool = "d" chunk_size = 128 transaction_id = 5 `+msgs)+
		lvText("a", rw, "", 4, "thin", `thin_pool = "p" transaction_id = 0 device_id = 1`)+
		lvText("b", rw, "", 4, "thin", `thin_pool = "p" transaction_id = 1 device_id = 2 origin = "a"`)+
		lvText("c", rw, "", 4, "thin", `thin_pool = "p" transaction_id = 4 device_id = 3`)+
		lvText("e", rw, "", 4, "thin", `thin_pool = "q" transaction_id = 0 device_id = 3`)+
		lvText("z", rw, "", 4, "zero", ""))
}

// TestPendingMessages: a pool's pending messages, in libdm's words and the text's order, then
// set_transaction_id; a pool without any has none.
func TestPendingMessages(t *testing.T) {
	for _, c := range []struct {
		msgs string
		want []string
	}{
		{"", nil},
		{`message1 { create = "c" } message2 { create = "b" } message3 { delete = 7 }`,
			[]string{"create_thin 3", "create_snap 2 1", "delete 7", "set_transaction_id 4 5"}},
		{`message1 { delete = 16777215 }`, []string{"delete 16777215", "set_transaction_id 4 5"}},
	} {
		vg := poolVG(t, c.msgs)
		if got, err := vg.PendingMessages(vg.LV("p")); err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q %v, want %q", c.msgs, got, err, c.want)
		}
	}
}

// TestPendingMessageRefusals: a message that names no thin volume of the pool, an id out of
// range, or a message with neither or both keys is refused with the pool and the message.
func TestPendingMessageRefusals(t *testing.T) {
	for _, c := range []struct{ msgs, want string }{
		{`message1 { create = "nope" }`, "thin pool my-vg/p message1: no LV nope"},
		{`message1 { create = "z" }`, "message1: LV z is not a thin volume"},
		{`message1 { create = "e" }`, "message1: LV e is not a thin volume of pool p"},
		{`message1 { delete = 16777216 }`, "message1: delete 16777216: a thin device id is below 2^24"},
		{`message1 { delete = -1 }`, `message1: section "message1": delete is not a non-negative integer`},
		{`message1 { create = 3 }`, "create is not a string"},
		{`message1 { }`, "message1: a message holds one of create or delete"},
		{`message1 { create = "c" delete = 3 }`, "a message holds one of create or delete"},
		{`message1 { create = "c" } message2 { bogus = 1 }`, "message2: a message holds one of create or delete"},
	} {
		vg := poolVG(t, c.msgs)
		if _, err := vg.PendingMessages(vg.LV("p")); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.msgs, err, c.want)
		}
	}
	vg := poolVG(t, `message1 { create = "c" }`)
	vg.LV("p").Segments[0].Section.Keys["transaction_id"] = Value{Kind: KindInt}
	if _, err := vg.PendingMessages(vg.LV("p")); err == nil || !strings.Contains(err.Error(), "1 pending messages at transaction_id 0") {
		t.Errorf("messages at transaction 0: %v", err)
	}
	if _, err := vg.PendingMessages(vg.LV("z")); err == nil || !strings.Contains(err.Error(), "LV my-vg/z is not a thin pool") {
		t.Errorf("not a pool: %v", err)
	}
}
