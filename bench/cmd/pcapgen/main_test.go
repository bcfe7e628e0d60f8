package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/unirec"
)

// The generated capture, metered, has exactly the flows and packets asked
// for, every flow a biflow.
func TestCaptureMetersToTheRequestedFlows(t *testing.T) {
	const packets, flows = 5000, 250
	var b bytes.Buffer
	if err := write(&b, packets, flows); err != nil {
		t.Fatal(err)
	}
	src, err := meter.NewFileSource(&b)
	if err != nil {
		t.Fatal(err)
	}
	var recs, oneWay int
	var m *meter.Meter
	m, err = meter.New(meter.Config{}, func(r unirec.Record) error {
		recs++
		id, _ := m.Template().Lookup("PACKETS_REV")
		if r.Uint32(id) == 0 {
			oneWay++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if st.IP != packets || recs != flows || oneWay != 0 || st.Truncated+st.BadLength != 0 {
		t.Errorf("%d IP packets in %d flows (%d one-way, %d damaged); want %d in %d biflows",
			st.IP, recs, oneWay, st.Truncated+st.BadLength, packets, flows)
	}
}

func TestIPChecksumVerifies(t *testing.T) {
	b := packet(make([]byte, 200), 12345, 3)
	if ipChecksum(b[14:34]) != 0 {
		t.Error("IPv4 header checksum does not verify")
	}
}
