package trap

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

// kTemplate is the template of the k: tests' records.
const kTemplate = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint64 BYTES"

// kCluster starts an in-process Kafka cluster with topic "flows" of parts
// partitions and returns it and its bootstrap "HOST:PORT".
func kCluster(t testing.TB, parts int32, opts ...kfake.Opt) (*kfake.Cluster, string) {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(parts, "flows"),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()[0]
}

// kHostPort splits a listen address into the "HOST:PORT" part of a spec.
func kHostPort(addr string) string {
	h, p, _ := net.SplitHostPort(addr)
	return h + ":" + p
}

func kSpec(t testing.TB, s string) IfcSpec {
	t.Helper()
	sps, err := ParseIFCSpec(s)
	if err != nil || len(sps) != 1 {
		t.Fatalf("ParseIFCSpec(%q) = %v, %v", s, sps, err)
	}
	return sps[0]
}

// kInput opens an input that accepts any UniRec sender, closed with the test.
func kInput(t testing.TB, spec string, log *zap.Logger) *Input {
	t.Helper()
	in, err := OpenInput(kSpec(t, spec), t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	in.SetRequiredFormat(FormatUniRec, "")
	return in
}

func kOutput(t testing.TB, spec string, log *zap.Logger) *Output {
	t.Helper()
	out, err := OpenOutput(kSpec(t, spec), t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.SetDataFormat(FormatUniRec, kTemplate); err != nil {
		t.Fatal(err)
	}
	return out
}

// kRecord builds record i: SRC_IP 10.0.(i%srcs).1, SRC_PORT and BYTES i.
func kRecord(t testing.TB, tm *unirec.Template, i, srcs int) []byte {
	t.Helper()
	r := tm.NewRecord()
	src, _ := tm.Lookup("SRC_IP")
	dst, _ := tm.Lookup("DST_IP")
	port, _ := tm.Lookup("SRC_PORT")
	by, _ := tm.Lookup("BYTES")
	s := i % srcs
	r.SetIP(src, unirec.IPv4([4]byte{10, byte(s >> 8), byte(s), 1}))
	r.SetIP(dst, unirec.IPv4([4]byte{192, 0, 2, byte(i)}))
	r.SetUint16(port, uint16(i))
	r.SetUint64(by, uint64(i))
	return r.Data
}

func kTmpl(t testing.TB) *unirec.Template {
	t.Helper()
	tm, err := unirec.ParseTemplate(kTemplate)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// kReadAll reads an eof=on input to its end and returns the data messages
// (copied) and how often the format changed.
func kReadAll(t testing.TB, spec string, log *zap.Logger) ([][]byte, int, *Input) {
	t.Helper()
	in := kInput(t, spec, log)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	var msgs [][]byte
	changes := 0
	for {
		m, changed, err := in.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv after %d messages: %v", len(msgs), err)
		}
		if changed {
			changes++
		}
		if IsEOS(m) {
			return msgs, changes, in
		}
		msgs = append(msgs, append([]byte(nil), m...))
	}
}

// kRawRecords reads every record of the topic with a plain consumer.
func kRawRecords(t testing.TB, addr, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	starts, ends, err := topicOffsets(ctx, cl, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	for p, e := range ends {
		want += e - starts[p]
	}
	var out []*kgo.Record
	for int64(len(out)) < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", len(out), want, err)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// kProduceRaw produces values with headers straight to a partition.
func kProduceRaw(t testing.TB, addr string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("flows"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// kContainer builds a valid container value of msgs.
func kContainer(msgs ...[]byte) []byte {
	b := make([]byte, ContainerHeaderSize)
	for _, m := range msgs {
		b = AppendMessage(b, m)
	}
	PutContainerHeader(b, uint32(len(b)-ContainerHeaderSize), 0, uint16(len(msgs)))
	return b
}

// kKey identifies a test record by its SRC_PORT and BYTES (both i).
func kKey(tm *unirec.Template, m []byte) string {
	by, _ := tm.Lookup("BYTES")
	r, err := tm.Wrap(m)
	if err != nil {
		return "bad:" + strconv.Itoa(len(m))
	}
	return strconv.FormatUint(r.Uint64(by), 10)
}

func kSrc(tm *unirec.Template, m []byte) string {
	src, _ := tm.Lookup("SRC_IP")
	r, _ := tm.Wrap(m)
	return r.IP(src).String()
}

// kMessages splits a container record into its messages.
func kMessages(t testing.TB, r *kgo.Record) [][]byte {
	t.Helper()
	payload, n, err := checkContainer(r.Value)
	if err != nil {
		t.Fatalf("partition %d offset %d: %v", r.Partition, r.Offset, err)
	}
	var out [][]byte
	for range n {
		var m []byte
		m, payload, _ = NextMessage(payload)
		out = append(out, m)
	}
	return out
}
