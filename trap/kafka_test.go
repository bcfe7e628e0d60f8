package trap

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowgate/flowgate/internal/testutil"
)

func TestParseKafkaSpec(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want kafkaSpec
	}{
		{"minimal", "k:flows:kafka1:9092", kafkaSpec{topic: "flows", brokers: []string{"kafka1:9092"}, compName: "none", inflight: DefaultKafkaInflight, session: DefaultKafkaSession}},
		{"everything", "k:flows:kafka1:9092:group=det:key=SRC_IP+DST_IP:compression=lz4:eof=on:brokers=kafka2/9093+kafka3/9094:buffer_count=8:session=2000:timeout=NO_WAIT",
			kafkaSpec{topic: "flows", brokers: []string{"kafka1:9092", "kafka2:9093", "kafka3:9094"}, group: "det", key: []string{"SRC_IP", "DST_IP"},
				compName: "lz4", eof: true, inflight: 8, session: 2 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseKafkaSpec(kSpec(t, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got.raw, got.compression, got.setParams = "", kafkaSpec{}.compression, nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseKafkaSpecErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"k:flows", "want k:TOPIC:HOST:PORT"},
		{"k:flows:host", "want k:TOPIC:HOST:PORT"},
		{"k::host:9092", "want k:TOPIC:HOST:PORT"},
		{"k:flows:host:0", "not in 1-65535"},
		{"k:flows:host:http", "not in 1-65535"},
		{"k:flows:host:9092:compression=gzip", "want none, lz4 or zstd"},
		{"k:flows:host:9092:eof=yes", "want on or off"},
		{"k:flows:host:9092:key=SRC_IP+", "empty field name"},
		{"k:flows:host:9092:brokers=host2:9093", "not HOST/PORT"},
		{"k:flows:host:9092:brokers=host2", "not HOST/PORT"},
		{"k:flows:host:9092:group=a:group=b", "given twice"},
		{"k:flows:host:9092:colour=red", "unknown parameter"},
		{"k:flows:host:9092:session=-1", "milliseconds"},
	}
	for _, tc := range tests {
		_, err := ParseIFCSpec(tc.in) // ParseIFCSpec checks k: parameters
		if !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrBadParams containing %q", tc.in, err, tc.want)
		}
	}
	// Direction-specific parameters.
	for _, tc := range []struct {
		in     string
		output bool
	}{
		{"k:flows:host:9092:group=g", true},
		{"k:flows:host:9092:eof=on", true},
		{"k:flows:host:9092:key=SRC_IP", false},
		{"k:flows:host:9092:compression=lz4", false},
	} {
		var err error
		if tc.output {
			_, err = OpenOutput(kSpec(t, tc.in), "", nil)
		} else {
			_, err = OpenInput(kSpec(t, tc.in), "", nil)
		}
		if !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), "is not a parameter of") {
			t.Errorf("%s (output %v): got %v", tc.in, tc.output, err)
		}
	}
}

// A keyed output puts every SRC_IP on one partition, and an eof=on input
// gets every record back, in partition order.
func TestKafkaKeyedRoundTrip(t *testing.T) {
	for _, comp := range []string{"none", "lz4", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			_, addr := kCluster(t, 4)
			hp := kHostPort(addr)
			tm := kTmpl(t)
			out := kOutput(t, "k:flows:"+hp+":key=SRC_IP:compression="+comp+":buffer_count=4", nil)
			const n, srcs = 5000, 37
			ctx := context.Background()
			for i := range n {
				if err := out.Send(ctx, kRecord(t, tm, i, srcs)); err != nil {
					t.Fatal(err)
				}
			}
			if err := out.SendEOS(ctx); err != nil {
				t.Fatal(err)
			}
			if err := out.Close(ctx); err != nil {
				t.Fatal(err)
			}
			st := out.Stats()
			if st.SentMessages != n || st.DroppedMessages != 0 || st.Kafka.DeliveredMessages != n || st.Kafka.Partitions != 4 {
				t.Fatalf("output stats %+v %+v", st, *st.Kafka)
			}

			// Every SRC_IP lives on exactly one partition, and each
			// partition holds its records in send order.
			part := map[string]int32{}
			used := map[int32]bool{}
			last := map[int32]string{}
			for _, r := range kRawRecords(t, addr, "flows") {
				used[r.Partition] = true
				for _, m := range kMessages(t, r) {
					s := kSrc(tm, m)
					if p, ok := part[s]; ok && p != r.Partition {
						t.Fatalf("SRC_IP %s on partitions %d and %d", s, p, r.Partition)
					}
					part[s] = r.Partition
					if k := kKey(tm, m); last[r.Partition] != "" && len(k) < len(last[r.Partition]) || (len(k) == len(last[r.Partition]) && k < last[r.Partition]) {
						t.Fatalf("partition %d out of order: %s after %s", r.Partition, k, last[r.Partition])
					}
					last[r.Partition] = kKey(tm, m)
				}
			}
			if len(part) != srcs || len(used) < 2 {
				t.Fatalf("%d sources over %d partitions", len(part), len(used))
			}

			msgs, changes, in := kReadAll(t, "k:flows:"+hp+":eof=on:group=rt-"+comp, nil)
			if changes != 1 {
				t.Errorf("format announced %d times, want 1", changes)
			}
			if f, s := in.DataFormat(); f != FormatUniRec || s != kTemplate {
				t.Errorf("negotiated %s %q", f, s)
			}
			seen := map[string]int{}
			for _, m := range msgs {
				seen[kKey(tm, m)]++
			}
			if len(msgs) != n || len(seen) != n {
				t.Fatalf("read %d messages (%d distinct), want %d", len(msgs), len(seen), n)
			}
			ist := in.Stats()
			if ist.Kind != KindKafka || ist.Messages != n+1 || ist.Kafka.BadRecords != 0 {
				t.Errorf("input stats %+v %+v", ist, *ist.Kafka)
			}
		})
	}
}

// Without key= the containers go round-robin over the partitions; buffer=off
// makes one container per message.
func TestKafkaUnkeyedRoundRobin(t *testing.T) {
	_, addr := kCluster(t, 3)
	tm := kTmpl(t)
	out := kOutput(t, "k:flows:"+kHostPort(addr)+":buffer=off", nil)
	ctx := context.Background()
	for i := range 30 {
		if err := out.Send(ctx, kRecord(t, tm, i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
	per := map[int32]int{}
	for _, r := range kRawRecords(t, addr, "flows") {
		if len(kMessages(t, r)) != 1 {
			t.Fatalf("buffer=off container holds %d messages", len(kMessages(t, r)))
		}
		per[r.Partition]++
	}
	if !reflect.DeepEqual(per, map[int32]int{0: 10, 1: 10, 2: 10}) {
		t.Errorf("containers per partition %v, want 10 each", per)
	}
}

// A format change is a record with new headers: the input reports it and
// the module reads the new format.
func TestKafkaFormatChange(t *testing.T) {
	_, addr := kCluster(t, 1)
	hp := kHostPort(addr)
	tm := kTmpl(t)
	out := kOutput(t, "k:flows:"+hp, nil)
	ctx := context.Background()
	out.Send(ctx, kRecord(t, tm, 1, 1))
	const spec2 = "uint32 FOO"
	if err := out.SetDataFormat(FormatUniRec, spec2); err != nil {
		t.Fatal(err)
	}
	out.Send(ctx, []byte{1, 2, 3, 4})
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
	in := kInput(t, "k:flows:"+hp+":eof=on:group=fc", nil)
	rctx, cancel := context.WithTimeout(ctx, testutil.WaitTimeout)
	defer cancel()
	var specs []string
	for {
		m, changed, err := in.Recv(rctx)
		if err != nil {
			t.Fatal(err)
		}
		if IsEOS(m) {
			break
		}
		if changed {
			_, s := in.DataFormat()
			specs = append(specs, s)
		}
	}
	if !reflect.DeepEqual(specs, []string{kTemplate, spec2}) {
		t.Errorf("formats seen %q", specs)
	}
}

// Bad records (not a container, unknown or missing format header,
// truncated, bad framing) are counted, logged with topic, partition and
// offset, and skipped; the good ones around them arrive.
func TestKafkaBadRecordsSkipped(t *testing.T) {
	_, addr := kCluster(t, 2)
	tm := kTmpl(t)
	good := func(i int) *kgo.Record {
		return &kgo.Record{Partition: int32(i % 2), Value: kContainer(kRecord(t, tm, i, 5)), Headers: kafkaHeaders(Hello{FormatUniRec, kTemplate})}
	}
	hdr := kafkaHeaders(Hello{FormatUniRec, kTemplate})
	valid := kContainer(kRecord(t, tm, 9, 5), kRecord(t, tm, 10, 5))
	bad := []*kgo.Record{
		{Partition: 0, Value: []byte("hello, I am JSON"), Headers: hdr},
		{Partition: 1, Value: valid, Headers: []kgo.RecordHeader{{Key: KafkaHeaderFormat, Value: []byte("avro")}, {Key: KafkaHeaderSpec, Value: []byte(kTemplate)}}},
		{Partition: 0, Value: valid}, // no headers at all
		{Partition: 1, Value: valid[:len(valid)-7], Headers: hdr},
		{Partition: 0, Value: func() []byte { // header count disagrees with the payload
			v := append([]byte(nil), valid...)
			PutContainerHeader(v, uint32(len(v)-ContainerHeaderSize), 0, 5)
			return v
		}(), Headers: hdr},
		{Partition: 1, Value: []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Headers: hdr}, // empty container
		{Partition: 1, Value: []byte("xyz"), Headers: hdr},
	}
	recs := []*kgo.Record{good(0), good(1)}
	recs = append(recs, bad...)
	recs = append(recs, good(2), good(3))
	kProduceRaw(t, addr, recs...)

	core, logs := observer.New(zap.WarnLevel)
	msgs, _, in := kReadAll(t, "k:flows:"+kHostPort(addr)+":eof=on:group=bad", zap.New(core))
	if len(msgs) != 4 {
		t.Errorf("got %d good messages, want 4", len(msgs))
	}
	if n := in.Stats().Kafka.BadRecords; n != uint64(len(bad)) {
		t.Errorf("bad records counted %d, want %d", n, len(bad))
	}
	skipped := logs.FilterMessage("k: input skipped a bad record").All()
	if len(skipped) != len(bad) {
		t.Fatalf("%d bad records logged, want %d", len(skipped), len(bad))
	}
	var reasons []string
	for _, e := range skipped {
		f := e.ContextMap()
		if f["topic"] != "flows" || f["partition"] == nil || f["offset"] == nil {
			t.Errorf("log entry lacks topic/partition/offset: %v", f)
		}
		reasons = append(reasons, f["error"].(string))
	}
	sort.Strings(reasons)
	all := strings.Join(reasons, "\n")
	for _, want := range []string{"unknown format \"avro\"", "no trap.format header", "truncated", "header counts 5 messages", "empty container", "shorter than"} {
		if !strings.Contains(all, want) {
			t.Errorf("no bad record reported %q; got:\n%s", want, all)
		}
	}
}

// A format the module does not accept is refused like on a socket.
func TestKafkaFormatMismatch(t *testing.T) {
	_, addr := kCluster(t, 1)
	tm := kTmpl(t)
	out := kOutput(t, "k:flows:"+kHostPort(addr), nil)
	out.Send(context.Background(), kRecord(t, tm, 1, 1))
	out.Close(context.Background())
	in := kInput(t, "k:flows:"+kHostPort(addr)+":eof=on:group=mm", nil)
	in.SetRequiredFormat(FormatUniRec, "uint32 NOT_THERE")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	if _, _, err := in.Recv(ctx); !errors.Is(err, ErrFormatMismatch) {
		t.Fatalf("Recv: %v, want ErrFormatMismatch", err)
	}
}

func TestKafkaKeyNeedsTemplateField(t *testing.T) {
	out, err := OpenOutput(kSpec(t, "k:flows:127.0.0.1:1:key=NOPE"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close(context.Background())
	if err := out.SetDataFormat(FormatUniRec, kTemplate); !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("SetDataFormat: %v", err)
	}
	if err := out.SetDataFormat(FormatRaw, ""); !errors.Is(err, ErrBadParams) {
		t.Errorf("raw with key=: %v", err)
	}
}

// Committed offsets: a second reader of the same group starts after what
// the first one finished.
func TestKafkaCommitsAfterNextContainer(t *testing.T) {
	_, addr := kCluster(t, 1)
	hp := kHostPort(addr)
	tm := kTmpl(t)
	out := kOutput(t, "k:flows:"+hp+":buffer=off", nil)
	ctx := context.Background()
	for i := range 10 {
		out.Send(ctx, kRecord(t, tm, i, 1))
	}
	out.Close(ctx)

	in := kInput(t, "k:flows:"+hp+":group=c", nil)
	rctx, cancel := context.WithTimeout(ctx, testutil.WaitTimeout)
	defer cancel()
	for range 4 { // the 4th container is received but not finished
		if _, _, err := in.Recv(rctx); err != nil {
			t.Fatal(err)
		}
	}
	in.Close()
	msgs, _, _ := kReadAll(t, "k:flows:"+hp+":group=c:eof=on", nil)
	if len(msgs) != 7 || kKey(tm, msgs[0]) != "3" {
		t.Fatalf("second reader got %d messages starting at %s, want 7 from 3 (at-least-once)", len(msgs), kKey(tm, msgs[0]))
	}
}

func TestKafkaInputTimeout(t *testing.T) {
	_, addr := kCluster(t, 1)
	in := kInput(t, "k:flows:"+kHostPort(addr)+":timeout=200000:group=to", nil)
	// A timeout that never fires shows as the context ending first.
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	if _, _, err := in.Recv(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Recv: %v, want ErrTimeout (200 ms)", err)
	}
}

// The service IFC reports a k: input's containers, bad records and lag
// per partition, and a k: output's drops and retries.
func TestKafkaServiceStats(t *testing.T) {
	_, addr := kCluster(t, 2)
	hp := kHostPort(addr)
	tm := kTmpl(t)
	out := kOutput(t, "k:flows:"+hp+":key=SRC_IP:buffer=off", nil)
	ctx := context.Background()
	for i := range 20 {
		out.Send(ctx, kRecord(t, tm, i, 4))
	}
	out.Flush(ctx)
	in := kInput(t, "k:flows:"+hp+":group=svc:timeout=100000", nil)
	rctx, cancel := context.WithTimeout(ctx, testutil.WaitTimeout)
	defer cancel()
	for got := 0; got < 5; {
		if _, _, err := in.Recv(rctx); err == nil {
			got++
		} else if !errors.Is(err, ErrTimeout) {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, "the brokers' acknowledgements", func() bool { return out.Stats().Kafka.DeliveredMessages == 20 })
	c := &Context{inputs: []*Input{in}, outputs: []*Output{out}}
	raw, err := c.statsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		In []struct {
			Type    int              `json:"ifc_type"`
			ID      string           `json:"ifc_id"`
			Buffers uint64           `json:"buffers"`
			Kafka   *KafkaInputStats `json:"kafka"`
		} `json:"in"`
		Out []struct {
			Type  int               `json:"ifc_type"`
			Sent  uint64            `json:"sent-messages"`
			Kafka *KafkaOutputStats `json:"kafka"`
		} `json:"out"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	i, o := st.In[0], st.Out[0]
	if i.Type != 'k' || i.ID != "flows" || i.Buffers != 5 || i.Kafka == nil || i.Kafka.Group != "svc" {
		t.Fatalf("input entry %+v in %s", i, raw)
	}
	lag := int64(0)
	for _, l := range i.Kafka.Lag {
		lag += l
	}
	if lag != 15 {
		t.Errorf("lag %v sums to %d, want 15 (20 containers, 5 read)", i.Kafka.Lag, lag)
	}
	if o.Type != 'k' || o.Sent != 20 || o.Kafka == nil || o.Kafka.Partitions != 2 || o.Kafka.DeliveredMessages != 20 {
		t.Fatalf("output entry %+v in %s", o, raw)
	}
	out.Close(ctx)
}

// key= spreads sources evenly: 4096 IPv4 sources over 3, 8 and 24
// partitions, each partition within 10 % of its share.
func TestKafkaKeySpreadsEvenly(t *testing.T) {
	o := &kafkaOutput{keys: []keyField{{off: 16, size: 16}}} // SRC_IP of benchSpec
	r := append([]byte(nil), benchRecord...)
	for _, n := range []int{3, 8, 24} {
		o.nparts = n
		cnt := make([]int, n)
		for i := range 4096 {
			r[16+10], r[16+11] = byte(i>>8), byte(i)
			cnt[o.pick(r)]++
		}
		share := 4096 / n
		for p, c := range cnt {
			if c < share*9/10 || c > share*11/10 {
				t.Errorf("%d partitions: partition %d got %d sources, share %d (%v)", n, p, c, share, cnt)
			}
		}
	}
}
