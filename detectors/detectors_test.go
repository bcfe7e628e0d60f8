package detectors

import (
	"errors"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

func TestTableEvictsLeastRecentlyTouched(t *testing.T) {
	tb := NewTable[int, int](3)
	var evicted []int
	tb.OnEvict = func(k int, _ *int) { evicted = append(evicted, k) }
	for k := 1; k <= 3; k++ {
		v, isNew, ev := tb.Upsert(k)
		if !isNew || ev {
			t.Fatalf("key %d: new %v evicted %v", k, isNew, ev)
		}
		*v = k * 10
	}
	tb.Touch(1) // order now 2, 3, 1
	if _, _, ev := tb.Upsert(4); !ev {
		t.Fatal("full table did not evict")
	}
	if len(evicted) != 1 || evicted[0] != 2 || tb.Evicted() != 1 {
		t.Fatalf("evicted %v (%d), want [2]", evicted, tb.Evicted())
	}
	if _, ok := tb.Get(2); ok {
		t.Fatal("evicted key still present")
	}
	if v, ok := tb.Get(1); !ok || *v != 10 {
		t.Fatalf("key 1 = %v %v", v, ok)
	}
	var order []int
	tb.Range(func(k int, _ *int) bool { order = append(order, k); return true })
	if want := []int{3, 1, 4}; len(order) != 3 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Fatalf("order %v, want %v", order, want)
	}
	tb.Delete(3)
	if k, _, ok := tb.Oldest(); !ok || k != 1 || tb.Len() != 2 {
		t.Fatalf("oldest %d %v len %d", k, ok, tb.Len())
	}
	// A new key reuses the deleted slot and its old value.
	v, isNew, _ := tb.Upsert(5)
	if !isNew || *v != 30 {
		t.Fatalf("recycled value %d new %v, want 30 true", *v, isNew)
	}
	if len(tb.nodes) != 3 {
		t.Fatalf("slab grew to %d for 3 live entries", len(tb.nodes))
	}
}

func TestTableUpsertAllocatesNothingWhenFull(t *testing.T) {
	tb := NewTable[uint64, [4]uint64](1000)
	k := uint64(0)
	for ; k < 1000; k++ {
		tb.Upsert(k)
	}
	allocs := testing.AllocsPerRun(1000, func() { tb.Upsert(k); k++ })
	if allocs != 0 {
		t.Fatalf("%.1f allocs per eviction", allocs)
	}
}

func TestFlowClock(t *testing.T) {
	c, err := ParseClock("flow")
	if err != nil {
		t.Fatal(err)
	}
	c.Observe(unirec.TimeFromSecMsec(100, 500))
	c.Observe(unirec.TimeFromSecMsec(90, 0))
	if c.Now() != 100 {
		t.Fatalf("now %d, want 100", c.Now())
	}
	if _, err := ParseClock("sundial"); err == nil {
		t.Fatal("bad clock accepted")
	}
	if c, _ := ParseClock(""); c.Now() < 1e9 {
		t.Fatal("default clock is not the wall clock")
	}
}

func TestResolveNamesMissingField(t *testing.T) {
	tm, err := unirec.ParseTemplate("ipaddr SRC_IP,uint32 PACKETS,uint16 DST_PORT")
	if err != nil {
		t.Fatal(err)
	}
	var a, b unirec.FieldID
	tests := []struct {
		spec, want string
	}{
		{"ipaddr SRC_IP,uint8 PROTOCOL", "input template lacks the field uint8 PROTOCOL"},
		{"ipaddr SRC_IP,uint64 PACKETS", "input template has uint32 PACKETS, the detector needs uint64 PACKETS"},
	}
	for _, tt := range tests {
		err := Resolve(tm, tt.spec, &a, &b)
		var mf *MissingFieldError
		if !errors.As(err, &mf) || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %q", tt.spec, err, tt.want)
		}
	}
	if err := Resolve(tm, "uint16 DST_PORT,ipaddr SRC_IP", &a, &b); err != nil || tm.Field(a).Name != "DST_PORT" || tm.Field(b).Name != "SRC_IP" {
		t.Fatalf("resolve: %v", err)
	}
}

func TestIPv4Int(t *testing.T) {
	ip, _ := unirec.ParseIP("192.168.1.2")
	v, ok := IPv4(ip)
	if !ok || v != 0xC0A80102 || IPFromV4(v) != ip {
		t.Fatalf("%x %v", v, ok)
	}
	ip6, _ := unirec.ParseIP("::ffff:1.2.3.4")
	if _, ok := IPv4(ip6); ok {
		t.Fatal("mapped IPv6 taken as IPv4")
	}
}
