package trap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// kafkaPollMax bounds the records taken from the client per poll.
const kafkaPollMax = 256

// kafkaInput is the k: input: a member of a consumer group reading a
// topic's containers in partition order. A container's offset is committed
// once the module asks for the next one (at-least-once). Records of a
// partition the group took away are not delivered any more, and a record
// delivered once is never delivered again by this process, even when its
// partition comes back.
type kafkaInput struct {
	ks   kafkaSpec
	log  *zap.Logger
	slog *zap.Logger
	cl   *kgo.Client

	// recv's own state.
	queue   []*kgo.Record
	qi      int
	prev    *kgo.Record // delivered last; committed when the next is asked for
	cur     Hello
	haveCur bool
	eofSent bool
	starts  map[int32]int64 // eof=on: log start and end offsets taken at start
	ends    map[int32]int64

	// mu guards what the group callbacks and stats share with recv.
	mu        sync.Mutex
	owned     map[int32]bool
	assigned  bool            // had an assignment at least once
	delivered map[int32]int64 // highest offset delivered per partition
	hwm       map[int32]int64 // high watermark at the last fetch per partition

	containers atomic.Uint64
	bad        atomic.Uint64
	closed     atomic.Bool
}

// newKafkaInput joins the consumer group (group=, default the module
// name) for the topic. Joining happens in the background.
func newKafkaInput(sp IfcSpec, e env) (inputIFC, error) {
	ks, err := parseKafkaSpec(sp)
	if err != nil {
		return nil, err
	}
	if err := ks.only("input", "group", "eof", "brokers", "session"); err != nil {
		return nil, err
	}
	if ks.group == "" {
		ks.group = defaultGroup()
	}
	log := e.log
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("ifc", sp.Raw))
	ki := &kafkaInput{ks: ks, log: log, slog: sampledLog(log),
		owned: map[int32]bool{}, delivered: map[int32]int64{}, hwm: map[int32]int64{}}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(ks.brokers...),
		kgo.ConsumerGroup(ks.group),
		kgo.ConsumeTopics(ks.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(500*time.Millisecond),
		kgo.SessionTimeout(ks.session),
		kgo.HeartbeatInterval(min(3*time.Second, ks.session/3)),
		kgo.FetchMaxWait(time.Second),
		kgo.RetryBackoffFn(kafkaBackoff),
		kgo.MetadataMinAge(250*time.Millisecond),
		kgo.OnPartitionsAssigned(ki.onAssigned),
		kgo.OnPartitionsRevoked(ki.onRevoked),
		kgo.OnPartitionsLost(ki.onLost),
		kgo.WithLogger(kgoLogger{log}),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: k: input %q: %v", ErrBadParams, sp.Raw, err)
	}
	ki.cl = cl
	return ki, nil
}

func (ki *kafkaInput) onAssigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	ki.mu.Lock()
	for _, p := range m[ki.ks.topic] {
		ki.owned[p] = true
	}
	ki.assigned = true
	ki.mu.Unlock()
	ki.log.Info("k: input assigned partitions", zap.String("group", ki.ks.group), zap.Int32s("partitions", m[ki.ks.topic]))
}

// onRevoked stops delivering the revoked partitions and commits what the
// module has finished, so the next owner starts right after it.
func (ki *kafkaInput) onRevoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	ki.drop(m[ki.ks.topic])
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		ki.log.Warn("k: input: committing before a rebalance failed; the next owner repeats some containers",
			zap.String("group", ki.ks.group), zap.Error(err))
	}
	if len(m[ki.ks.topic]) > 0 {
		ki.log.Info("k: input partitions revoked", zap.String("group", ki.ks.group), zap.Int32s("partitions", m[ki.ks.topic]))
	}
}

func (ki *kafkaInput) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	ki.drop(m[ki.ks.topic])
	ki.log.Warn("k: input partitions lost", zap.String("group", ki.ks.group), zap.Int32s("partitions", m[ki.ks.topic]))
}

func (ki *kafkaInput) drop(ps []int32) {
	ki.mu.Lock()
	for _, p := range ps {
		delete(ki.owned, p)
		delete(ki.hwm, p)
	}
	ki.mu.Unlock()
}

func (ki *kafkaInput) recv(ctx context.Context, timeout Timeout) ([]byte, *Hello, error) {
	if ki.prev != nil {
		// The module has received the whole previous container.
		ki.cl.MarkCommitRecords(ki.prev)
		ki.prev = nil
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(max(timeout.Duration(), time.Millisecond))
	}
	for {
		if ki.closed.Load() {
			return nil, nil, fmt.Errorf("%w: k: input %q is closed", ErrIO, ki.ks.raw)
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("%w: k: input %q: %w", ErrTerminated, ki.ks.raw, err)
		}
		if r := ki.next(); r != nil {
			payload, h, err := ki.decode(r)
			if err != nil {
				ki.bad.Add(1)
				ki.slog.Warn("k: input skipped a bad record", zap.String("topic", r.Topic), zap.Int32("partition", r.Partition),
					zap.Int64("offset", r.Offset), zap.Uint64("bad_so_far", ki.bad.Load()), zap.Error(err))
				ki.cl.MarkCommitRecords(r)
				continue
			}
			ki.prev = r
			ki.containers.Add(1)
			return payload, h, nil
		}
		if ki.ks.eof {
			if ki.eofSent {
				return nil, nil, fmt.Errorf("%w: k: input %q: end of every partition reached: %w", ErrTerminated, ki.ks.raw, io.EOF)
			}
			if ki.drained(ctx) {
				ki.eofSent = true
				return eosPayload[:], nil, nil
			}
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, nil, fmt.Errorf("%w: k: input %q: no container within %s", ErrTimeout, ki.ks.raw, timeout)
		}
		if err := ki.poll(ctx, deadline); err != nil {
			return nil, nil, err
		}
	}
}

// next returns the next queued record of a partition this member still
// owns that was not delivered before.
func (ki *kafkaInput) next() *kgo.Record {
	ki.mu.Lock()
	defer ki.mu.Unlock()
	for ki.qi < len(ki.queue) {
		r := ki.queue[ki.qi]
		ki.queue[ki.qi] = nil
		ki.qi++
		if !ki.owned[r.Partition] {
			continue // revoked after it was fetched: its next owner delivers it
		}
		if d, ok := ki.delivered[r.Partition]; ok && r.Offset <= d {
			continue // delivered before the partition went away and came back
		}
		ki.delivered[r.Partition] = r.Offset
		return r
	}
	ki.queue, ki.qi = ki.queue[:0], 0
	return nil
}

// poll fetches more records, waiting until deadline (zero: until ctx
// ends; with eof=on at most 200 ms so that the end is noticed).
func (ki *kafkaInput) poll(ctx context.Context, deadline time.Time) error {
	pctx, cancel := ctx, context.CancelFunc(func() {})
	switch {
	case !deadline.IsZero():
		pctx, cancel = context.WithDeadline(ctx, deadline)
	case ki.ks.eof:
		pctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
	}
	fs := ki.cl.PollRecords(pctx, kafkaPollMax)
	cancel()
	if fs.IsClientClosed() {
		return fmt.Errorf("%w: k: input %q is closed", ErrTerminated, ki.ks.raw)
	}
	var ferr error
	fs.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		ferr = err
		ki.slog.Warn("k: input fetch error", zap.String("topic", topic), zap.Int32("partition", p), zap.Error(err))
	})
	if ctx.Err() != nil {
		return fmt.Errorf("%w: k: input %q: %w", ErrTerminated, ki.ks.raw, ctx.Err())
	}
	ki.mu.Lock()
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) > 0 || p.Err == nil {
			ki.hwm[p.Partition] = p.HighWatermark
		}
		ki.queue = append(ki.queue, p.Records...)
	})
	ki.mu.Unlock()
	if ferr != nil && fs.NumRecords() == 0 {
		// Back off a little so a failing broker is not hammered.
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// decode checks a record and returns its payload and, when the format
// differs from the last one delivered, the new hello.
func (ki *kafkaInput) decode(r *kgo.Record) ([]byte, *Hello, error) {
	h, changed, err := parseKafkaFormat(r.Headers, ki.cur, ki.haveCur)
	if err != nil {
		return nil, nil, err
	}
	payload, _, err := checkContainer(r.Value)
	if err != nil {
		return nil, nil, err
	}
	if !changed {
		return payload, nil, nil
	}
	ki.cur, ki.haveCur = h, true
	hc := h
	return payload, &hc, nil
}

// drained reports, for eof=on, whether every partition this member owns
// has been read up to the end offset it had when the input started.
func (ki *kafkaInput) drained(ctx context.Context) bool {
	if ki.ends == nil {
		mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		starts, ends, err := topicOffsets(mctx, ki.cl, ki.ks.topic)
		cancel()
		if err != nil {
			ki.slog.Warn("k: input cannot list the topic's offsets for eof=on", zap.String("topic", ki.ks.topic), zap.Error(err))
			return false
		}
		ki.starts, ki.ends = starts, ends
	}
	ki.mu.Lock()
	defer ki.mu.Unlock()
	if !ki.assigned {
		return false
	}
	committed := ki.cl.CommittedOffsets()[ki.ks.topic]
	for p := range ki.owned {
		pos := ki.starts[p]
		if c, ok := committed[p]; ok && c.Offset > pos {
			pos = c.Offset
		}
		if d, ok := ki.delivered[p]; ok && d+1 > pos {
			pos = d + 1
		}
		if pos < ki.ends[p] {
			return false
		}
	}
	return true
}

// topicOffsets lists the log start and end offsets of every partition.
func topicOffsets(ctx context.Context, cl *kgo.Client, topic string) (starts, ends map[int32]int64, err error) {
	n, err := topicPartitions(ctx, cl, topic)
	if err != nil {
		return nil, nil, err
	}
	list := func(ts int64) (map[int32]int64, error) {
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for p := range n {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition = int32(p)
			rp.Timestamp = ts
			rp.CurrentLeaderEpoch = -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return nil, err
		}
		out := map[int32]int64{}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return nil, fmt.Errorf("partition %d: %w", p.Partition, err)
				}
				out[p.Partition] = p.Offset
			}
		}
		if len(out) != n {
			return nil, fmt.Errorf("offsets of %d of %d partitions listed", len(out), n)
		}
		return out, nil
	}
	if starts, err = list(-2); err != nil {
		return nil, nil, err
	}
	if ends, err = list(-1); err != nil {
		return nil, nil, err
	}
	return starts, ends, nil
}

// reject skips the record whose format the module refused.
func (ki *kafkaInput) reject() {
	if ki.prev != nil {
		ki.cl.MarkCommitRecords(ki.prev)
		ki.prev = nil
	}
	ki.haveCur = false
}

func (ki *kafkaInput) stats() InputStats {
	committed := ki.cl.CommittedOffsets()[ki.ks.topic]
	ki.mu.Lock()
	defer ki.mu.Unlock()
	lag := make(map[int32]int64, len(ki.owned))
	for p := range ki.owned {
		h, ok := ki.hwm[p]
		if !ok {
			continue
		}
		// Position: after the last record delivered, else the group's
		// commit, else the start.
		pos := int64(0)
		if c, ok := committed[p]; ok {
			pos = c.Offset
		}
		if d, ok := ki.delivered[p]; ok && d+1 > pos {
			pos = d + 1
		}
		lag[p] = max(h-pos, 0)
	}
	return InputStats{
		Kind:      KindKafka,
		ID:        ki.ks.topic,
		Connected: len(ki.owned) > 0,
		Buffers:   ki.containers.Load(),
		Kafka:     &KafkaInputStats{Topic: ki.ks.topic, Group: ki.ks.group, BadRecords: ki.bad.Load(), Lag: lag},
	}
}

// close commits what the module finished and leaves the group, so its
// partitions move to the other members at once.
func (ki *kafkaInput) close() error {
	if ki.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := ki.cl.CommitMarkedOffsets(ctx)
	ki.cl.Close()
	if err != nil {
		return fmt.Errorf("%w: k: input %q: committing offsets: %v", ErrIO, ki.ks.raw, err)
	}
	return nil
}
