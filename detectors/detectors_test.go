package detectors

import (
	"errors"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

func TestTableCapEvictsOldEntries(t *testing.T) {
	tb := NewTable[int, int](100)
	var evicted []int
	tb.OnEvict = func(k int, _ *int) { evicted = append(evicted, k) }
	for k := range 100 {
		v, isNew, ev := tb.Upsert(k)
		if !isNew || ev {
			t.Fatalf("key %d: new %v evicted %v", k, isNew, ev)
		}
		*v = k * 10
	}
	// Touch the first half again: the evictions should hit the second.
	for k := range 50 {
		if _, isNew, _ := tb.Upsert(k); isNew {
			t.Fatalf("key %d lost", k)
		}
	}
	for k := 100; k < 120; k++ {
		if _, _, ev := tb.Upsert(k); !ev {
			t.Fatal("full table did not evict")
		}
	}
	if tb.Len() != 100 || tb.Evicted() != 20 || len(evicted) != 20 {
		t.Fatalf("len %d evicted %d (%d)", tb.Len(), tb.Evicted(), len(evicted))
	}
	recent := 0
	for _, k := range evicted {
		if k < 50 || k >= 100 {
			recent++
		}
	}
	if recent > 4 {
		t.Fatalf("evicted %v: too many recently touched keys", evicted)
	}
	if v, ok := tb.Get(evicted[0]); ok {
		t.Fatalf("evicted key still present: %d", *v)
	}
	if got := tb.DeleteIf(func(k int, _ *int) bool { return k >= 100 }); got+tb.Len() != 100 {
		t.Fatalf("DeleteIf removed %d, %d left", got, tb.Len())
	}
	// A new key reuses a freed slot: the slab does not grow.
	v, isNew, _ := tb.Upsert(1000)
	if !isNew || len(tb.nodes) != 100 {
		t.Fatalf("recycled value %d new %v slab %d", *v, isNew, len(tb.nodes))
	}
	if !tb.EvictOld(1000) || tb.Len() == 0 {
		t.Fatal("EvictOld found nothing")
	}
	one := NewTable[int, int](5)
	one.Upsert(7)
	if one.EvictOld(7) {
		t.Fatal("EvictOld evicted the kept key")
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
