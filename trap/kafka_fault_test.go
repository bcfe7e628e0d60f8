package trap

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/flowgate/flowgate/internal/testutil"
)

// restartable is a one-broker cluster that can be stopped and started
// again on the same port with its data (kfake's DataDir).
type restartable struct {
	t    testing.TB
	dir  string
	port int
	c    *kfake.Cluster
}

func newRestartable(t testing.TB, parts int32) *restartable {
	r := &restartable{t: t, dir: t.TempDir()}
	c, addr := kCluster(t, parts, kfake.DataDir(r.dir))
	_, p, _ := net.SplitHostPort(addr)
	r.port, _ = strconv.Atoi(p)
	r.c = c
	return r
}

func (r *restartable) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *restartable) stop() { r.c.Close() }

func (r *restartable) start() {
	r.t.Helper()
	var err error
	for range 50 { // the port may take a moment to be free again
		r.c, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(r.port), kfake.DataDir(r.dir),
			kfake.GroupMinSessionTimeout(100*time.Millisecond))
		if err == nil {
			r.t.Cleanup(r.c.Close)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("restarting the broker: %v", err)
}

// kTopicKeys reads every record of the topic and counts each message key.
func kTopicKeys(t testing.TB, addr string) map[string]int {
	tm := kTmpl(t)
	got := map[string]int{}
	for _, r := range kRawRecords(t, addr, "flows") {
		for _, m := range kMessages(t, r) {
			got[kKey(tm, m)]++
		}
	}
	return got
}

// sendWhileRestarting sends n records in small containers and stops the
// broker after a third of them, starting it again 300 ms later.
func sendWhileRestarting(t *testing.T, r *restartable, out *Output, n int) {
	t.Helper()
	tm := kTmpl(t)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	restarted := make(chan struct{})
	for i := range n {
		if i == n/3 {
			r.stop()
			go func() {
				time.Sleep(300 * time.Millisecond)
				r.start()
				close(restarted)
			}()
		}
		if err := out.Send(ctx, kRecord(t, tm, i, 7)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if i%10 == 9 {
			if err := out.Flush(ctx); err != nil {
				t.Fatalf("flush at %d: %v", i, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	<-restarted
	if err := out.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// Under WAIT a broker stopped and restarted during production loses
// nothing: sends wait for the broker, the idempotent producer retries.
func TestKafkaBrokerRestartLosesNothingUnderWait(t *testing.T) {
	r := newRestartable(t, 2)
	out := kOutput(t, "k:flows:"+r.addr()+":key=SRC_IP:buffer_count=3", nil)
	const n = 1500
	sendWhileRestarting(t, r, out, n)
	st := out.Stats()
	if st.DroppedMessages != 0 || st.Kafka.DeliveredMessages != n {
		t.Fatalf("WAIT: dropped %d, delivered %d of %d", st.DroppedMessages, st.Kafka.DeliveredMessages, n)
	}
	if st.Kafka.Retries == 0 {
		t.Errorf("no retries counted across a broker restart")
	}
	got := kTopicKeys(t, r.addr())
	for i := range n {
		if got[strconv.Itoa(i)] != 1 {
			t.Fatalf("record %d is in the topic %d times", i, got[strconv.Itoa(i)])
		}
	}
}

// Under NO_WAIT the sender never waits: containers that find the
// in-flight window full while the broker is down are dropped, and the
// drop counter equals exactly what is missing from the topic.
func TestKafkaBrokerDownDropsCountedUnderNoWait(t *testing.T) {
	r := newRestartable(t, 2)
	out := kOutput(t, "k:flows:"+r.addr()+":key=SRC_IP:buffer_count=3:timeout=NO_WAIT", nil)
	const n = 1500
	sendWhileRestarting(t, r, out, n)
	st := out.Stats()
	got := kTopicKeys(t, r.addr())
	missing := 0
	for i := range n {
		switch got[strconv.Itoa(i)] {
		case 0:
			missing++
		case 1:
		default:
			t.Fatalf("record %d is in the topic %d times", i, got[strconv.Itoa(i)])
		}
	}
	if missing == 0 {
		t.Fatal("nothing was dropped while the broker was down; the test proves nothing")
	}
	if uint64(missing) != st.DroppedMessages {
		t.Fatalf("NO_WAIT: %d records missing, %d counted as dropped", missing, st.DroppedMessages)
	}
	if st.Kafka.DeliveredMessages+st.DroppedMessages != n {
		t.Errorf("delivered %d + dropped %d != sent %d", st.Kafka.DeliveredMessages, st.DroppedMessages, n)
	}
}

// HALF_WAIT waits for a slow broker but drops while it is unreachable.
func TestKafkaHalfWaitDropsWhileDown(t *testing.T) {
	r := newRestartable(t, 1)
	out := kOutput(t, "k:flows:"+r.addr()+":buffer_count=1:timeout=HALF_WAIT", nil)
	tm := kTmpl(t)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	out.Send(ctx, kRecord(t, tm, 0, 1))
	out.Flush(ctx)
	r.stop()
	// Sends go on while the broker is down: they must not block (a send
	// that waits for the broker fails when ctx ends).
	for i := 1; i < 200; i++ {
		if err := out.Send(ctx, kRecord(t, tm, i, 1)); err != nil {
			t.Fatalf("HALF_WAIT send %d while the broker was down: %v", i, err)
		}
		if err := out.Flush(ctx); err != nil {
			t.Fatalf("HALF_WAIT flush %d while the broker was down: %v", i, err)
		}
		if i%20 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	r.start()
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := out.Stats()
	got := kTopicKeys(t, r.addr())
	total := 0
	for _, c := range got {
		total += c
	}
	if st.DroppedMessages == 0 || uint64(200-total) != st.DroppedMessages {
		t.Fatalf("HALF_WAIT: %d in the topic, %d counted as dropped, 200 sent", total, st.DroppedMessages)
	}
}
