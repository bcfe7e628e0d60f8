package trap

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// FuzzKafkaRecord feeds arbitrary record values and format headers to the
// k: input's decoder: it must return an error or a payload whose messages
// split cleanly, never panic.
func FuzzKafkaRecord(f *testing.F) {
	f.Add([]byte("unirec"), []byte(kTemplate), kContainer([]byte{1, 2, 3}, []byte{4}))
	f.Add([]byte("raw"), []byte(""), kContainer([]byte{0}))
	f.Add([]byte("avro"), []byte("x"), []byte("garbage"))
	f.Add([]byte("json"), []byte(""), []byte{0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 7})
	f.Fuzz(func(t *testing.T, format, spec, value []byte) {
		hs := []kgo.RecordHeader{{Key: KafkaHeaderFormat, Value: format}, {Key: KafkaHeaderSpec, Value: spec}}
		if _, _, err := parseKafkaFormat(hs, Hello{}, false); err != nil {
			return
		}
		payload, n, err := checkContainer(value)
		if err != nil {
			return
		}
		for i := range n {
			var err error
			if _, payload, err = NextMessage(payload); err != nil {
				t.Fatalf("message %d of a checked container: %v", i, err)
			}
		}
		if len(payload) != 0 {
			t.Fatalf("%d bytes left after the counted messages", len(payload))
		}
	})
}

// FuzzParseKafkaSpec: any k: parameter text parses or fails cleanly.
func FuzzParseKafkaSpec(f *testing.F) {
	for _, s := range []string{"flows:h:1", "flows:h:9092:key=SRC_IP+DST_IP:brokers=a/1+b/2:eof=on", "t::1:group=", ":::::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, params string) {
		sps, err := ParseIFCSpec("k:" + params)
		if err != nil || len(sps) != 1 {
			return
		}
		ks, err := parseKafkaSpec(sps[0])
		if err == nil && (ks.topic == "" || len(ks.brokers) == 0) {
			t.Fatalf("%q parsed without topic or broker: %+v", params, ks)
		}
	})
}
