package trap

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/flowgate/flowgate/unirec"
)

// kafkaProducer is the part of *kgo.Client the output uses; the producer
// benchmark replaces it to measure the path from message to Kafka record
// without the network.
type kafkaProducer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
	Flush(ctx context.Context) error
	Close()
}

// kafkaCont is one container on its way to a partition. Its buffer, record
// and promise are made once and reused, so steady-state sends allocate
// nothing.
type kafkaCont struct {
	rec     kgo.Record
	b       []byte // 14 reserved header bytes, then messages
	msgs    int
	first   uint64
	born    time.Time
	promise func(*kgo.Record, error)
}

// keyField is one field of key=: a fixed field's offset and size, or a
// variable field's slot offset (size < 0).
type keyField struct {
	off, size int
	static    int // the template's static size, for variable fields
}

// kafkaOutput is the k: output: containers of messages produced to a
// topic, one record per container, each bound for one partition.
type kafkaOutput struct {
	ks        kafkaSpec
	log       *zap.Logger
	slog      *zap.Logger // sampled, for per-container events
	prod      kafkaProducer
	meta      func(ctx context.Context) (int, error) // the topic's partition count
	buffered  bool
	timeout   Timeout
	autoflush time.Duration

	mu       sync.Mutex
	cond     *sync.Cond
	hasFmt   bool
	headers  []kgo.RecordHeader
	keys     []keyField
	nparts   int
	metaNext time.Time // no metadata request before this (after a failure)
	act      []*kafkaCont
	rr       int // next partition of unkeyed containers
	free     []*kafkaCont
	inflight int
	up       bool // the brokers answered last time we heard from them
	closed   bool

	accepted, dropped, delivered, tooBig, eos uint64
	containers, failedConts, retries          uint64
	autoflushes                               uint64

	done chan struct{}
	wg   sync.WaitGroup
}

// newKafkaOutput creates a k: output. It does not wait for the brokers:
// the first send learns the topic's partitions.
func newKafkaOutput(sp IfcSpec, e env) (outputIFC, error) {
	ks, err := parseKafkaSpec(sp)
	if err != nil {
		return nil, err
	}
	if err := ks.only("output", "key", "compression", "brokers", "buffer_count"); err != nil {
		return nil, err
	}
	if sp.Timeout != Wait && sp.Timeout != HalfWait && sp.Timeout < 0 {
		return nil, fmt.Errorf("%w: output timeout %d", ErrBadParams, sp.Timeout)
	}
	log := e.log
	if log == nil {
		log = zap.NewNop()
	}
	o := newKafkaOutputWith(ks, sp, log.With(zap.String("ifc", sp.Raw)))
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(ks.brokers...),
		kgo.DefaultProduceTopic(ks.topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent: the franz-go default, which needs acks=all
		kgo.ProducerBatchCompression(ks.compression),
		// Our own in-flight limit decides when to wait or drop; franz-go's
		// must never block us first.
		kgo.MaxBufferedRecords(ks.inflight+1024),
		kgo.ProducerBatchMaxBytes(4<<20),
		kgo.RetryBackoffFn(kafkaBackoff),
		kgo.MetadataMinAge(250*time.Millisecond),
		kgo.WithLogger(kgoLogger{o.log}),
		kgo.WithHooks(brokerHooks{onState: o.setUp, onRetry: o.addRetry}),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: k: output %q: %v", ErrBadParams, sp.Raw, err)
	}
	o.prod = cl
	o.meta = func(ctx context.Context) (int, error) { return topicPartitions(ctx, cl, ks.topic) }
	o.start()
	return o, nil
}

func newKafkaOutputWith(ks kafkaSpec, sp IfcSpec, log *zap.Logger) *kafkaOutput {
	o := &kafkaOutput{ks: ks, log: log, slog: sampledLog(log), buffered: sp.Buffer, timeout: sp.Timeout,
		autoflush: sp.Autoflush, up: true, done: make(chan struct{})}
	o.cond = sync.NewCond(&o.mu)
	return o
}

// start runs the autoflush and partition-refresh loop.
func (o *kafkaOutput) start() {
	o.wg.Add(1)
	go o.loop()
}

// kafkaBackoff is the wait before retry n: 50 ms doubling up to 1 s, so a
// restarted broker is found again within a second.
func kafkaBackoff(n int) time.Duration { return min(50*time.Millisecond<<min(n, 5), time.Second) }

// topicPartitions asks the brokers how many partitions topic has.
func topicPartitions(ctx context.Context, cl *kgo.Client, topic string) (int, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return 0, fmt.Errorf("topic %q: %w", topic, err)
		}
		if len(t.Partitions) == 0 {
			return 0, fmt.Errorf("topic %q has no partitions", topic)
		}
		return len(t.Partitions), nil
	}
	return 0, fmt.Errorf("topic %q: not in the metadata response", topic)
}

func (o *kafkaOutput) setUp(up bool) {
	o.mu.Lock()
	if o.up != up {
		o.up = up
		o.cond.Broadcast()
	}
	o.mu.Unlock()
}

func (o *kafkaOutput) addRetry() {
	o.mu.Lock()
	o.retries++
	o.mu.Unlock()
}

// setFormat finishes the containers of the old format and makes later
// records carry the new headers. key= fields are resolved in the template.
func (o *kafkaOutput) setFormat(h Hello) error {
	var keys []keyField
	if len(o.ks.key) > 0 {
		if h.Format != FormatUniRec {
			return fmt.Errorf("%w: k: output %q: key= needs the UniRec format, not %s", ErrBadParams, o.ks.raw, h.Format)
		}
		t, err := unirec.ParseTemplate(h.Spec)
		if err != nil {
			return fmt.Errorf("%w: k: output %q: %w", ErrBadParams, o.ks.raw, err)
		}
		for _, name := range o.ks.key {
			id, ok := t.Lookup(name)
			if !ok {
				return fmt.Errorf("%w: k: output %q: key field %s is not in the template %q", ErrBadParams, o.ks.raw, name, h.Spec)
			}
			f := t.Field(id)
			kf := keyField{off: f.Offset, size: f.Type.Size(), static: t.StaticSize()}
			if f.Type.IsVariable() {
				kf.size = -1
			}
			keys = append(keys, kf)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return fmt.Errorf("%w: k: output %q is closed", ErrIO, o.ks.raw)
	}
	if o.hasFmt {
		o.finishAllLocked(context.Background(), true)
	}
	o.headers, o.keys, o.hasFmt = kafkaHeaders(h), keys, true
	return nil
}

func (o *kafkaOutput) send(ctx context.Context, msg []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sendLocked(ctx, msg)
}

func (o *kafkaOutput) sendFixed(ctx context.Context, data []byte, size int) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return eachFixed(data, size, func(msg []byte) error { return o.sendLocked(ctx, msg) })
}

// sendBatch sends the n length-prefixed messages of wire under one lock
// (Output.SendBatch); keyed outputs still pick a partition per message.
func (o *kafkaOutput) sendBatch(ctx context.Context, wire []byte, n int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for range n {
		msg, rest, err := NextMessage(wire)
		if err != nil {
			return fmt.Errorf("k: output %q: %w", o.ks.raw, err)
		}
		wire = rest
		if err := o.sendLocked(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}

func (o *kafkaOutput) sendLocked(ctx context.Context, msg []byte) error {
	if o.closed {
		return fmt.Errorf("%w: k: output %q is closed", ErrIO, o.ks.raw)
	}
	if IsEOS(msg) {
		// A topic is an unending stream shared by many producers and read
		// by many groups: one producer's end must not stop them. Readers
		// end with eof=on instead.
		o.eos++
		return nil
	}
	m := len(msg)
	if m+2 > MaxPayload {
		o.tooBig++
		o.dropped++
		if o.tooBig&(o.tooBig-1) == 0 {
			o.log.Warn("message larger than a container dropped", zap.Int("bytes", m), zap.Uint64("dropped_so_far", o.tooBig))
		}
		return nil
	}
	if o.nparts == 0 {
		if err := o.learnPartitionsLocked(ctx); err != nil {
			o.dropped++
			o.slog.Warn("message dropped: topic partitions unknown", zap.String("topic", o.ks.topic), zap.Error(err))
			if o.timeout == Wait {
				return err
			}
			return nil
		}
	}
	p := o.pick(msg)
	c := o.act[p]
	if c != nil && len(c.b)+m+2 > cap(c.b) {
		if err := o.finishLocked(ctx, p, false); err != nil {
			return err
		}
		if len(o.keys) == 0 {
			p = o.rr
		}
		c = nil
	}
	if c == nil {
		c = o.newContLocked()
		c.first = o.accepted
		c.born = time.Now()
		o.act[p] = c
	}
	c.b = AppendMessage(c.b, msg)
	c.msgs++
	o.accepted++
	if !o.buffered {
		return o.finishLocked(ctx, p, false)
	}
	return nil
}

// pick returns the partition of msg: the hash of its key fields, or the
// partition of the current round-robin container.
func (o *kafkaOutput) pick(msg []byte) int {
	if len(o.keys) == 0 || o.nparts == 1 {
		return o.rr
	}
	h := uint64(kafkaHashSeed)
	for _, k := range o.keys {
		switch {
		case k.size >= 0 && k.off+k.size <= len(msg):
			h = keyHash(h, msg[k.off:k.off+k.size])
		case k.size < 0 && k.off+4 <= len(msg):
			vo := k.static + (int(msg[k.off]) | int(msg[k.off+1])<<8)
			vn := int(msg[k.off+2]) | int(msg[k.off+3])<<8
			if vo+vn <= len(msg) {
				h = keyHash(h, msg[vo:vo+vn])
			}
		}
	}
	// The high word of h*n is in [0, n): no division on the hot path.
	p, _ := bits.Mul64(h^(h>>31), uint64(o.nparts))
	return int(p)
}

const kafkaHashSeed = 0x6a09e667f3bcc909

// keyHash mixes b into h eight bytes at a time (a multiply-xorshift in
// the manner of FNV, word-wise), so a 16-byte address costs two rounds.
// Every flowgate computes the same value for the same key bytes.
func keyHash(h uint64, b []byte) uint64 {
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * 0x9e3779b97f4a7c15
		h ^= h >> 29
		b = b[8:]
	}
	for _, x := range b {
		h = (h ^ uint64(x)) * 0x100000001b3
	}
	return h
}

// learnPartitionsLocked asks the brokers for the topic's partition count.
// WAIT retries until it gets it or ctx ends; the other timeouts try once
// a second and drop meanwhile.
func (o *kafkaOutput) learnPartitionsLocked(ctx context.Context) error {
	for {
		if o.timeout != Wait && time.Now().Before(o.metaNext) {
			return fmt.Errorf("%w: k: output %q: brokers unreachable", ErrIO, o.ks.raw)
		}
		o.mu.Unlock()
		mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := o.meta(mctx)
		cancel()
		o.mu.Lock()
		if o.closed {
			return fmt.Errorf("%w: k: output %q is closed", ErrIO, o.ks.raw)
		}
		if err == nil {
			o.resizeLocked(n)
			return nil
		}
		o.metaNext = time.Now().Add(time.Second)
		o.slog.Warn("k: output cannot learn the topic's partitions", zap.String("topic", o.ks.topic), zap.Error(err))
		if o.timeout != Wait {
			return fmt.Errorf("%w: k: output %q: %v", ErrIO, o.ks.raw, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: k: output %q: %v", ErrTerminated, o.ks.raw, ctx.Err())
		}
		o.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
		o.mu.Lock()
	}
}

// resizeLocked sets the partition count; the active containers are
// finished first when it changes (keys then map elsewhere).
func (o *kafkaOutput) resizeLocked(n int) {
	if n == o.nparts {
		return
	}
	if o.nparts > 0 {
		o.finishAllLocked(context.Background(), true)
		o.log.Info("topic partition count changed", zap.String("topic", o.ks.topic), zap.Int("from", o.nparts), zap.Int("to", n))
	}
	o.nparts = n
	o.act = make([]*kafkaCont, n)
	o.rr %= n
}

func (o *kafkaOutput) newContLocked() *kafkaCont {
	if k := len(o.free); k > 0 {
		c := o.free[k-1]
		o.free = o.free[:k-1]
		c.b, c.msgs = c.b[:ContainerHeaderSize], 0
		return c
	}
	c := &kafkaCont{b: make([]byte, ContainerHeaderSize, ContainerHeaderSize+MaxPayload)}
	c.promise = func(_ *kgo.Record, err error) { o.produced(c, err) }
	return c
}

// produced is the promise of a container's record.
func (o *kafkaOutput) produced(c *kafkaCont, err error) {
	o.mu.Lock()
	o.inflight--
	if err != nil {
		o.dropped += uint64(c.msgs)
		o.failedConts++
		o.slog.Error("k: output lost a container", zap.String("topic", o.ks.topic), zap.Int32("partition", c.rec.Partition),
			zap.Int("messages", c.msgs), zap.Uint64("dropped_so_far", o.dropped), zap.Error(err))
	} else {
		o.delivered += uint64(c.msgs)
	}
	o.free = append(o.free, c)
	o.cond.Broadcast()
	o.mu.Unlock()
}

// slotLocked waits, as the timeout says, until another container may be
// in flight. false means the container is to be dropped.
func (o *kafkaOutput) slotLocked(ctx context.Context, force bool) (bool, error) {
	if o.inflight < o.ks.inflight {
		return true, nil
	}
	if force {
		return true, nil // format changes and close go beyond the limit rather than drop
	}
	var deadline time.Time
	switch {
	case o.timeout == NoWait:
		return false, nil
	case o.timeout == HalfWait && !o.up:
		return false, nil
	case o.timeout > 0:
		deadline = time.Now().Add(o.timeout.Duration())
		t := time.AfterFunc(o.timeout.Duration(), o.wake)
		defer t.Stop()
	}
	stop := context.AfterFunc(ctx, o.wake)
	defer stop()
	for o.inflight >= o.ks.inflight {
		if o.closed {
			return false, fmt.Errorf("%w: k: output %q closed while waiting for the brokers", ErrTerminated, o.ks.raw)
		}
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("%w: k: output %q waiting for the brokers: %v", ErrTerminated, o.ks.raw, err)
		}
		if o.timeout == HalfWait && !o.up {
			return false, nil
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return false, nil
		}
		o.cond.Wait()
	}
	return true, nil
}

func (o *kafkaOutput) wake() {
	o.mu.Lock()
	o.cond.Broadcast()
	o.mu.Unlock()
}

// finishLocked writes partition p's container header and produces it.
func (o *kafkaOutput) finishLocked(ctx context.Context, p int, force bool) error {
	c := o.act[p]
	if c == nil || c.msgs == 0 {
		return nil
	}
	o.act[p] = nil
	if len(o.keys) == 0 {
		o.rr = (p + 1) % o.nparts
	}
	ok, err := o.slotLocked(ctx, force)
	if !ok {
		o.dropped += uint64(c.msgs)
		o.slog.Warn("k: output dropped a container: brokers too slow or down", zap.String("topic", o.ks.topic),
			zap.Int("partition", p), zap.Int("messages", c.msgs), zap.Stringer("timeout", o.timeout),
			zap.Uint64("dropped_so_far", o.dropped))
		o.free = append(o.free, c)
		return err
	}
	PutContainerHeader(c.b, uint32(len(c.b)-ContainerHeaderSize), c.first, uint16(c.msgs))
	c.rec = kgo.Record{Topic: o.ks.topic, Partition: int32(p), Value: c.b, Headers: o.headers}
	o.inflight++
	o.containers++
	// The record's context stays Background: a buffered container is never
	// cancelled, only delivered or (when the client closes) failed and counted.
	o.prod.Produce(context.Background(), &c.rec, c.promise)
	return nil
}

func (o *kafkaOutput) finishAllLocked(ctx context.Context, force bool) error {
	var first error
	for p := range o.act {
		if err := o.finishLocked(ctx, p, force); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (o *kafkaOutput) flush(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.finishAllLocked(ctx, false)
}

// loop finishes containers older than autoflush and refreshes the
// partition count every 30 s.
func (o *kafkaOutput) loop() {
	defer o.wg.Done()
	period := time.Second
	if o.autoflush > 0 {
		period = min(period, max(o.autoflush/4, time.Millisecond))
	}
	t := time.NewTicker(period)
	defer t.Stop()
	lastMeta := time.Now()
	for {
		select {
		case <-o.done:
			return
		case <-t.C:
		}
		if o.autoflush > 0 {
			o.mu.Lock()
			now := time.Now()
			for p, c := range o.act {
				// Autoflush never waits for the brokers: a container that
				// has no slot stays until a send or the next tick.
				if c != nil && c.msgs > 0 && now.Sub(c.born) >= o.autoflush && o.inflight < o.ks.inflight {
					o.finishLocked(context.Background(), p, false)
					o.autoflushes++
				}
			}
			o.mu.Unlock()
		}
		if time.Since(lastMeta) >= 30*time.Second {
			lastMeta = time.Now()
			o.mu.Lock()
			known := o.nparts > 0
			o.mu.Unlock()
			if !known {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			n, err := o.meta(ctx)
			cancel()
			if err == nil {
				o.mu.Lock()
				if !o.closed {
					o.resizeLocked(n)
				}
				o.mu.Unlock()
			}
		}
	}
}

// close produces what is buffered and waits, at most until ctx ends, for
// the brokers to acknowledge everything; what they never acknowledged is
// counted as dropped when the client closes.
func (o *kafkaOutput) close(ctx context.Context) error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	err := o.finishAllLocked(ctx, false)
	if err != nil {
		o.finishAllLocked(ctx, true)
	}
	o.closed = true
	close(o.done)
	o.cond.Broadcast()
	o.mu.Unlock()
	o.wg.Wait()
	ferr := o.prod.Flush(ctx)
	o.prod.Close() // fails (and so counts) whatever is still unacknowledged
	o.mu.Lock()
	lost := o.inflight
	o.mu.Unlock()
	if ferr != nil {
		return fmt.Errorf("%w: k: output %q closed with %d container(s) unacknowledged: %v", ErrTimeout, o.ks.raw, lost, ferr)
	}
	return nil
}

func (o *kafkaOutput) stats() OutputStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return OutputStats{
		Kind:            KindKafka,
		ID:              o.ks.topic,
		Clients:         boolInt(o.up && o.nparts > 0),
		SentMessages:    o.accepted,
		DroppedMessages: o.dropped,
		Buffers:         o.containers,
		Autoflushes:     o.autoflushes,
		Kafka: &KafkaOutputStats{
			Topic:             o.ks.topic,
			Partitions:        o.nparts,
			DeliveredMessages: o.delivered,
			FailedContainers:  o.failedConts,
			InFlight:          o.inflight,
			Retries:           o.retries,
		},
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
