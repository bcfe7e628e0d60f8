package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

// v5Datagram builds a NetFlow v5 export packet of the flows first..first+n-1:
// flow i comes from 10.1.0.(i%srcs) port 1024+i/srcs... so that SRC_IP and
// SRC_PORT together name it.
func v5Datagram(first, n, srcs int, seq uint32, now time.Time) []byte {
	b := make([]byte, 24, 24+48*n)
	binary.BigEndian.PutUint16(b[0:], 5)
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	binary.BigEndian.PutUint32(b[4:], 600000) // sysUptime, ms
	binary.BigEndian.PutUint32(b[8:], uint32(now.Unix()))
	binary.BigEndian.PutUint32(b[16:], seq)
	for i := first; i < first+n; i++ {
		r := make([]byte, 48)
		copy(r[0:], []byte{10, 1, 0, byte(i % srcs)})
		copy(r[4:], []byte{192, 0, 2, 7})
		binary.BigEndian.PutUint32(r[16:], 3)                   // dPkts
		binary.BigEndian.PutUint32(r[20:], uint32(100+i))       // dOctets
		binary.BigEndian.PutUint32(r[24:], 590000)              // First
		binary.BigEndian.PutUint32(r[28:], 599000)              // Last
		binary.BigEndian.PutUint16(r[32:], uint16(1024+i/srcs)) // srcport
		binary.BigEndian.PutUint16(r[34:], 80)
		r[38] = 6 // TCP
		b = append(b, r...)
	}
	return b
}

// partialTrapcap reads the complete buffers of a .trapcap file that may
// still be being written, and returns each record's "SRC_IP:SRC_PORT".
func partialTrapcap(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) < 8 {
		return nil
	}
	sl := int(binary.BigEndian.Uint32(raw[4:8]))
	if len(raw) < 8+sl {
		return nil
	}
	tm, err := unirec.ParseTemplate(string(raw[8 : 8+sl]))
	if err != nil {
		t.Fatalf("%s: template: %v", path, err)
	}
	src, _ := tm.Lookup("SRC_IP")
	port, _ := tm.Lookup("SRC_PORT")
	var out []string
	for rest := raw[8+sl:]; len(rest) >= 4; {
		p := int(binary.BigEndian.Uint32(rest))
		if len(rest) < 4+p {
			break
		}
		payload := rest[4 : 4+p]
		rest = rest[4+p:]
		for len(payload) >= 2 {
			m := int(binary.BigEndian.Uint16(payload))
			msg := payload[2 : 2+m]
			payload = payload[2+m:]
			if m <= 1 {
				continue
			}
			r, err := tm.Wrap(msg)
			if err != nil {
				t.Fatalf("%s: record: %v", path, err)
			}
			out = append(out, fmt.Sprintf("%s:%d", r.IP(src), r.Uint16(port)))
		}
	}
	return out
}

type repeaterProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	file   string
}

func startRepeater(t *testing.T, spec, file string) *repeaterProc {
	t.Helper()
	p := &repeaterProc{stderr: &lockedBuffer{}, file: file}
	// buffer=off: each record is in the file before the repeater asks for
	// the next container, so a commit never covers a record still in a
	// memory buffer when the process is killed.
	p.cmd = exec.Command(filepath.Join(binaries(t), "traffic_repeater"), "-vv", "-i", spec+",f:"+file+":buffer=off")
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

func (p *repeaterProc) assigned() bool {
	return strings.Contains(p.stderr.String(), "assigned partitions")
}

// flowgate collects NetFlow into a k: output keyed by SRC_IP; two
// traffic_repeaters of one consumer group write the topic into two files.
// Every record arrives, and no source IP is in both files. Then one
// repeater is killed mid-stream: the other takes over its partitions,
// nothing is lost, and the records the group repeats are counted.
func TestFlowgateKafkaConsumerGroup(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "flows"),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	broker := cluster.ListenAddrs()[0]
	dir := t.TempDir()
	in := "k:flows:" + broker + ":group=detectors:session=1500"
	a := startRepeater(t, in, filepath.Join(dir, "a.trapcap"))
	b := startRepeater(t, in, filepath.Join(dir, "b.trapcap"))

	fg := startFlowgateArgs(t, "-i", "k:flows:"+broker+":key=SRC_IP:autoflush=100000")
	conn, err := net.Dial("udp", "127.0.0.1:"+fg.port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const srcs, perPhase = 40, 3000
	seq := uint32(0)
	send := func(from, to int) {
		for i := from; i < to; i += 30 {
			if _, err := conn.Write(v5Datagram(i, min(30, to-i), srcs, seq, time.Now())); err != nil {
				t.Error(err)
				return
			}
			seq += uint32(min(30, to-i))
			time.Sleep(500 * time.Microsecond)
		}
	}
	waitAll := func(n int, what string) (ra, rb []string) {
		seen := map[string]bool{}
		if !testutil.Eventually(testutil.WaitTimeout, func() bool {
			ra, rb = partialTrapcap(t, a.file), partialTrapcap(t, b.file)
			clear(seen)
			for _, k := range append(append([]string(nil), ra...), rb...) {
				seen[k] = true
			}
			return len(seen) >= n
		}) {
			t.Fatalf("%s: %d of %d records arrived (a %d, b %d); flowgate: %s\na: %s\nb: %s", what, len(seen), n,
				len(ra), len(rb), fg.stderr.String(), a.stderr.String(), b.stderr.String())
		}
		return ra, rb
	}
	srcIP := func(k string) string { return k[:strings.LastIndexByte(k, ':')] }

	// Both members have partitions before the flows come, and the group's
	// rebalance is over: a source's records never move between them in
	// phase 1.
	group := newKafkaGroup(t, broker, "detectors", "flows")
	if !testutil.Eventually(testutil.WaitTimeout, func() bool { return a.assigned() && b.assigned() && group.stable(2, 6) }) {
		t.Fatalf("the group did not form: a: %s\nb: %s", a.stderr.String(), b.stderr.String())
	}

	send(0, perPhase)
	ra, rb := waitAll(perPhase, "phase 1")
	srcA, srcB := map[string]bool{}, map[string]bool{}
	for _, k := range ra {
		srcA[srcIP(k)] = true
	}
	for _, k := range rb {
		srcB[srcIP(k)] = true
		if srcA[srcIP(k)] {
			t.Fatalf("SRC_IP %s reached both consumers", srcIP(k))
		}
	}
	if len(srcA) == 0 || len(srcB) == 0 || len(srcA)+len(srcB) != srcs {
		t.Fatalf("sources split %d/%d, want all %d over both", len(srcA), len(srcB), srcs)
	}
	if len(ra)+len(rb) != perPhase {
		t.Errorf("phase 1 delivered %d records for %d flows", len(ra)+len(rb), perPhase)
	}
	t.Logf("phase 1: %d records to a (%d sources), %d to b (%d sources)", len(ra), len(srcA), len(rb), len(srcB))

	// The members commit what they finished at most every half second:
	// wait until the group has committed all of phase 1.
	testutil.WaitFor(t, "the group to commit phase 1", group.committedAll)

	// Phase 2: kill b mid-stream, once it has written some of the phase's
	// records; the rest of the phase follows while the group notices.
	before := len(rb)
	send(perPhase, perPhase+perPhase/2)
	if !testutil.Eventually(testutil.WaitTimeout, func() bool { return len(partialTrapcap(t, b.file)) > before }) {
		t.Fatalf("b received nothing of phase 2: %s", b.stderr.String())
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		send(perPhase+perPhase/2, 2*perPhase)
	}()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.cmd.Wait()
	wg.Wait()
	ra, rb = waitAll(2*perPhase, "after the kill")
	dup := len(ra) + len(rb) - 2*perPhase
	takenOver := 0
	for _, k := range ra {
		if srcB[srcIP(k)] {
			takenOver++
		}
	}
	if takenOver == 0 {
		t.Fatal("a never received the sources of the killed consumer")
	}
	t.Logf("after killing b: a %d records (%d of b's sources' records), b %d; duplicates %d", len(ra), takenOver, len(rb), dup)
	// Only what b received after its last commit is repeated: at most its
	// phase-2 records (phase 1 was committed before the kill).
	if dup < 0 || dup > len(rb)-before {
		t.Errorf("%d records repeated; b received %d after its last commit", dup, len(rb)-before)
	}

	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.cmd.Wait(); err != nil {
		t.Errorf("traffic_repeater exit: %v: %s", err, a.stderr.String())
	}
	fg.stop(t)
}

// startFlowgateArgs runs flowgate collecting on a free UDP port with the
// given extra arguments and waits until it is collecting.
func startFlowgateArgs(t *testing.T, args ...string) *flowgateProc {
	t.Helper()
	return startFlowgateWith(t, func(port string) []string {
		return append([]string{"-l", "udp://127.0.0.1:" + port}, args...)
	})
}

// startFlowgateWith runs flowgate with the arguments args gives for a free
// port, with its own socket directory and no metrics listener, and waits
// until it is collecting.
func startFlowgateWith(t *testing.T, args func(port string) []string) *flowgateProc {
	t.Helper()
	bin := flowgateBinaries(t)
	port := freePort(t)
	p := &flowgateProc{stderr: &lockedBuffer{}, port: port}
	p.cmd = exec.Command(filepath.Join(bin, "flowgate"), args(port)...)
	p.cmd.Env = append(os.Environ(), "TRAP_SOCKET_DIR="+t.TempDir(), "FLOWGATE_METRICS_LISTEN=")
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	if !testutil.Eventually(testutil.WaitTimeout, func() bool { return strings.Contains(p.stderr.String(), "running") }) {
		t.Fatalf("flowgate did not start: %s", p.stderr.String())
	}
	return p
}

// kafkaGroup asks the broker about a consumer group reading a topic.
type kafkaGroup struct {
	cl           *kgo.Client
	group, topic string
}

func newKafkaGroup(t *testing.T, broker, group, topic string) *kafkaGroup {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &kafkaGroup{cl, group, topic}
}

// stable reports whether the group is done rebalancing: Stable, with
// members members that have the topic's parts partitions between them,
// none without.
func (g *kafkaGroup) stable(members, parts int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{g.group}
	resp, err := req.RequestWith(ctx, g.cl)
	if err != nil || len(resp.Groups) != 1 {
		return false
	}
	gr := resp.Groups[0]
	if gr.State != "Stable" || len(gr.Members) != members {
		return false
	}
	total := 0
	for _, m := range gr.Members {
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(m.MemberAssignment); err != nil {
			return false
		}
		n := 0
		for _, tp := range a.Topics {
			if tp.Topic == g.topic {
				n += len(tp.Partitions)
			}
		}
		if n == 0 {
			return false
		}
		total += n
	}
	return total == parts
}

// committedAll reports whether the group has committed every partition of
// the topic up to its end.
func (g *kafkaGroup) committedAll() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(g.topic)
	meta.Topics = append(meta.Topics, mt)
	mresp, err := meta.RequestWith(ctx, g.cl)
	if err != nil || len(mresp.Topics) != 1 {
		return false
	}
	lreq := kmsg.NewPtrListOffsetsRequest()
	lreq.ReplicaID = -1
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = g.topic
	for _, p := range mresp.Topics[0].Partitions {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition = p.Partition
		lp.Timestamp = -1 // the end
		lp.CurrentLeaderEpoch = -1
		lt.Partitions = append(lt.Partitions, lp)
	}
	lreq.Topics = append(lreq.Topics, lt)
	lresp, err := lreq.RequestWith(ctx, g.cl)
	if err != nil {
		return false
	}
	ends := map[int32]int64{}
	for _, t := range lresp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return false
			}
			ends[p.Partition] = p.Offset
		}
	}
	freq := kmsg.NewPtrOffsetFetchRequest()
	freq.Group = g.group
	fresp, err := freq.RequestWith(ctx, g.cl)
	if err != nil || fresp.ErrorCode != 0 {
		return false
	}
	committed := map[int32]int64{}
	topics := fresp.Topics
	for _, gr := range fresp.Groups {
		for _, t := range gr.Topics {
			ft := kmsg.NewOffsetFetchResponseTopic()
			ft.Topic = t.Topic
			for _, p := range t.Partitions {
				fp := kmsg.NewOffsetFetchResponseTopicPartition()
				fp.Partition, fp.Offset = p.Partition, p.Offset
				ft.Partitions = append(ft.Partitions, fp)
			}
			topics = append(topics, ft)
		}
	}
	for _, t := range topics {
		if t.Topic == g.topic {
			for _, p := range t.Partitions {
				committed[p.Partition] = p.Offset
			}
		}
	}
	for p, end := range ends {
		if end > 0 && committed[p] < end {
			return false
		}
	}
	return len(ends) > 0
}
