package filter

import (
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

// BenchmarkMatch: a 3-term filter (the bench/unirecfilter.sh one) on a
// basic flow record.
func BenchmarkMatch(b *testing.B) {
	tmpl, err := unirec.ParseTemplate("ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS")
	if err != nil {
		b.Fatal(err)
	}
	r := rec(b, tmpl, "PROTOCOL=6", "DST_PORT=443", "SRC_IP=10.0.0.1", "BYTES=1500")
	p := MustCompile("PROTOCOL == 6 && DST_PORT in [22, 80, 443] && BYTES > 1000", tmpl)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if p.Match(r) {
			n++
		}
	}
	if n != b.N {
		b.Fatal("the record should match")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkMatchProject: unirecfilter's per-record work with -O: the
// filter, then the projection with a default.
func BenchmarkMatchProject(b *testing.B) {
	in, err := unirec.ParseTemplate("ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS")
	if err != nil {
		b.Fatal(err)
	}
	r := rec(b, in, "PROTOCOL=6", "DST_PORT=443", "SRC_IP=10.0.0.1", "BYTES=1500")
	p := MustCompile("PROTOCOL == 6 && DST_PORT in [22, 80, 443] && BYTES > 1000", in)
	proj, err := ParseProjection("ipaddr SRC_IP,uint16 DST_PORT,uint64 BYTES,uint32 MARK=7")
	if err != nil {
		b.Fatal(err)
	}
	pr, dst := proj.For(in), proj.T.NewRecord()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p.Match(r) {
			if err := pr.Project(&dst, r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
