package unirec_test

import (
	"fmt"

	"github.com/flowgate/flowgate/unirec"
)

// Build a record from a spec, set fields by id and print it the way the
// NEMEA logger does.
func Example() {
	tmpl, err := unirec.ParseTemplate("uint16 SRC_PORT,ipaddr SRC_IP,time TIME_FIRST,string NOTE")
	if err != nil {
		fmt.Println(err)
		return
	}
	srcIP, _ := tmpl.Lookup("SRC_IP")
	srcPort, _ := tmpl.Lookup("SRC_PORT")
	first, _ := tmpl.Lookup("TIME_FIRST")
	note, _ := tmpl.Lookup("NOTE")

	rec := tmpl.NewRecord()
	ip, _ := unirec.ParseIP("::ffff:1.2.3.4")
	rec.SetIP(srcIP, ip)
	rec.SetUint16(srcPort, 443)
	rec.SetTime(first, unirec.TimeFromSecMsec(1705312800, 123))
	if err := rec.SetVar(note, []byte(`say "hi"`)); err != nil {
		fmt.Println(err)
		return
	}

	fmt.Println(tmpl.Spec())
	fmt.Println(string(rec.AppendText(nil, ',')))
	fmt.Println(len(rec.Data), "bytes")
	// Output:
	// ipaddr SRC_IP,time TIME_FIRST,uint16 SRC_PORT,string NOTE
	// ::ffff:1.2.3.4,2024-01-15T10:00:00.123000,443,"say ""hi"""
	// 38 bytes
}
