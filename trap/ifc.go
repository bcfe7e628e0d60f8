package trap

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"
)

// inputIFC is the transport of an input interface (u, t, T, f). It yields
// whole buffers; Input splits them into messages and negotiates formats.
type inputIFC interface {
	// recv returns the next buffer payload: messages back to back, each
	// with its BE uint16 length. hello is non-nil when the payload follows
	// a new negotiation (first connect, reconnect, or the next file); the
	// caller then judges it before using the payload. The payload stays
	// valid until the next recv. timeout follows libtrap's rules: Wait
	// blocks (reconnecting as needed), NoWait or a number of microseconds
	// returns ErrTimeout when nothing arrives in time. ctx ends the wait
	// with ErrTerminated.
	recv(ctx context.Context, timeout Timeout) (payload []byte, hello *Hello, err error)
	// reject refuses the hello that came with the last recv: a socket
	// closes its connection (the next recv reconnects), a file input moves
	// on to its next file.
	reject()
	// stats reports the transport's counters for the service IFC.
	stats() InputStats
	close() error
}

// outputIFC is the transport of an output interface (u, t, T, f, b).
type outputIFC interface {
	// setFormat announces h. Socket outputs send it to every client that
	// connects from now on and, on a change, disconnect the clients they
	// have (libtrap renegotiates by reconnecting); file outputs write it at
	// the head of the next file and switch files on a change.
	setFormat(h Hello) error
	// send queues one message (it is copied) under the IFC's buffering and
	// timeout rules.
	send(ctx context.Context, msg []byte) error
	// sendFixed sends the messages of size bytes packed back to back in
	// data (len(data) is a multiple of size), as send would one by one,
	// and returns how many were sent.
	sendFixed(ctx context.Context, data []byte, size int) (int, error)
	// flush finishes the active buffer and hands it on.
	flush(ctx context.Context) error
	// close delivers everything still buffered, waiting at most until ctx
	// ends, then releases the transport.
	close(ctx context.Context) error
	stats() OutputStats
}

// InputStats are an input interface's counters (service IFC "in" entries).
type InputStats struct {
	Kind      byte
	ID        string
	Connected bool
	Messages  uint64
	Buffers   uint64
	Kafka     *KafkaInputStats // k: inputs only
}

// OutputStats are an output interface's counters (service IFC "out" entries).
type OutputStats struct {
	Kind            byte
	ID              string
	Clients         int
	SentMessages    uint64
	DroppedMessages uint64
	Buffers         uint64
	Autoflushes     uint64
	PerClient       []ClientStats
	Kafka           *KafkaOutputStats // k: outputs only
}

// ClientStats are one connected client's counters on a socket output.
type ClientStats struct {
	ID              string
	SentContainers  uint64
	SentMessages    uint64
	SkippedMessages uint64
}

// env is what every interface needs from its context.
type env struct {
	socketDir string
	log       *zap.Logger
	files     *FileSet // nil: f: outputs in mode w truncate (libtrap)
}

func newInputIFC(sp IfcSpec, e env) (inputIFC, error) {
	switch sp.Kind {
	case KindUNIX, KindTCP, KindTLS:
		return newSocketInput(sp, e)
	case KindFile:
		return newFileInput(sp, e)
	case KindKafka:
		return newKafkaInput(sp, e)
	}
	return nil, fmt.Errorf("%w: interface type %q cannot be an input", ErrBadParams, sp.Kind)
}

func newOutputIFC(sp IfcSpec, e env) (outputIFC, error) {
	switch sp.Kind {
	case KindUNIX, KindTCP, KindTLS:
		return newSocketOutput(sp, e)
	case KindFile:
		return newFileOutput(sp, e)
	case KindBlackhole:
		return newBlackholeOutput(sp), nil
	case KindKafka:
		return newKafkaOutput(sp, e)
	}
	return nil, fmt.Errorf("%w: interface type %q cannot be an output", ErrBadParams, sp.Kind)
}

// Input is one input interface of a module.
type Input struct {
	ifc     inputIFC
	spec    IfcSpec
	timeout Timeout

	reqFmt  Format
	reqSpec string

	cur      Hello
	haveFmt  bool
	changed  bool
	pending  []byte
	pendErr  error         // framing error RecvBatch stopped at, for the next call
	messages atomic.Uint64 // messages handed to the module
	delay    recvDelay     // service IFC delay_last/delay_total (service.go)
}

func newInput(ifc inputIFC, sp IfcSpec) *Input {
	return &Input{ifc: ifc, spec: sp, timeout: sp.Timeout, reqFmt: FormatUniRec}
}

// SetRequiredFormat sets the format this input accepts (trap_set_required_fmt).
// FormatUniRec with an empty spec accepts any UniRec sender.
func (in *Input) SetRequiredFormat(f Format, spec string) {
	in.reqFmt, in.reqSpec = f, spec
}

// SetTimeout sets the receive timeout unless the IFC_SPEC fixed one.
func (in *Input) SetTimeout(t Timeout) {
	if !in.spec.TimeoutSet {
		in.timeout = t
	}
}

// DataFormat returns the format negotiated with the current sender.
func (in *Input) DataFormat() (Format, string) { return in.cur.Format, in.cur.Spec }

// Spec returns the interface's IFC_SPEC entry.
func (in *Input) Spec() IfcSpec { return in.spec }

// Recv returns the next message. The slice is valid until the next call.
// formatChanged is true for the first message after the sender's format
// changed or first became known as a superset of the required one (libtrap's
// TRAP_E_FORMAT_CHANGED): read DataFormat and rebuild the template before
// using msg. A message of length <= 1 is end of stream (IsEOS).
func (in *Input) Recv(ctx context.Context) (msg []byte, formatChanged bool, err error) {
	if in.pendErr != nil {
		err, in.pendErr = in.pendErr, nil
		return nil, false, err
	}
	if len(in.pending) == 0 {
		if err := in.fill(ctx); err != nil {
			return nil, false, err
		}
	}
	p := in.pending
	if len(p) < 2 || 2+int(binary.BigEndian.Uint16(p)) > len(p) {
		_, _, err := NextMessage(p)
		in.pending = nil
		return nil, false, fmt.Errorf("input %q: %w", in.spec.Raw, err)
	}
	n := 2 + int(binary.BigEndian.Uint16(p))
	m := p[2:n:n]
	in.pending = p[n:]
	in.messages.Add(1)
	formatChanged, in.changed = in.changed, false
	return m, formatChanged, nil
}

// fill receives buffers until one with messages is pending, negotiating
// the format of every new connection or file.
func (in *Input) fill(ctx context.Context) error {
	if len(in.pending) > 0 {
		return nil
	}
	in.delay.enter()
	defer in.delay.leave()
	for len(in.pending) == 0 {
		payload, hello, err := in.ifc.recv(ctx, in.timeout)
		if err != nil {
			return err
		}
		if hello != nil {
			switch negotiate(in.reqFmt, in.reqSpec, *hello) {
			case negUnknown:
				in.ifc.reject()
				continue
			case negMismatch:
				in.ifc.reject()
				return fmt.Errorf("%w: required %s %q, sender offers %s %q%s",
					ErrFormatMismatch, in.reqFmt, in.reqSpec, hello.Format, hello.Spec,
					missingNote(in.reqFmt, in.reqSpec, *hello))
			case negSubset:
				in.changed = true
			case negOK:
				if in.haveFmt && hello.Spec != in.cur.Spec {
					in.changed = true
				}
			}
			in.cur, in.haveFmt = *hello, true
		}
		in.pending = payload
	}
	return nil
}

// Buffered reports whether messages of the current buffer are still
// waiting, so that Recv will return without touching the transport. Modules
// use it to flush their own output once a buffer is drained.
func (in *Input) Buffered() bool { return len(in.pending) > 0 }

// Stats returns the input's counters.
func (in *Input) Stats() InputStats {
	s := in.ifc.stats()
	s.Messages = in.messages.Load()
	return s
}

// Close releases the interface.
func (in *Input) Close() error { return in.ifc.close() }

// Output is one output interface of a module.
type Output struct {
	ifc    outputIFC
	spec   IfcSpec
	hello  Hello
	hasFmt bool
}

func newOutput(ifc outputIFC, sp IfcSpec) *Output { return &Output{ifc: ifc, spec: sp} }

// Spec returns the interface's IFC_SPEC entry.
func (o *Output) Spec() IfcSpec { return o.spec }

// SetDataFormat sets (or changes) the format sent to receivers
// (trap_set_data_fmt). Setting the same format again changes nothing.
func (o *Output) SetDataFormat(f Format, spec string) error {
	h := Hello{Format: f, Spec: spec}
	if o.hasFmt && h == o.hello {
		return nil
	}
	if err := o.ifc.setFormat(h); err != nil {
		return fmt.Errorf("output %q: setting format: %w", o.spec.Raw, err)
	}
	o.hello, o.hasFmt = h, true
	return nil
}

// DataFormat returns the format set with SetDataFormat.
func (o *Output) DataFormat() (Format, string) { return o.hello.Format, o.hello.Spec }

// Send queues one message. It is copied before Send returns.
func (o *Output) Send(ctx context.Context, msg []byte) error {
	if !o.hasFmt {
		return fmt.Errorf("output %q: %w", o.spec.Raw, ErrFormatNotSet)
	}
	if len(msg) > MaxMessage {
		return fmt.Errorf("output %q: %w: message of %d bytes exceeds %d", o.spec.Raw, ErrBadParams, len(msg), MaxMessage)
	}
	return o.ifc.send(ctx, msg)
}

// SendFixed sends the messages packed back to back in data, each size
// bytes long (UniRec records of a template without dynamic fields), in
// order, exactly as calling Send for each would, but taking the
// interface's lock once: batching amortises that cost when records are
// produced faster than one lock per record allows. It returns how many
// messages were sent; on error, those before the failing one were.
func (o *Output) SendFixed(ctx context.Context, data []byte, size int) (int, error) {
	if !o.hasFmt {
		return 0, fmt.Errorf("output %q: %w", o.spec.Raw, ErrFormatNotSet)
	}
	if size <= 0 || size > MaxMessage || len(data)%size != 0 {
		return 0, fmt.Errorf("output %q: %w: %d bytes are not a whole number of %d-byte messages (at most %d bytes each)", o.spec.Raw, ErrBadParams, len(data), size, MaxMessage)
	}
	if len(data) == 0 {
		return 0, nil
	}
	return o.ifc.sendFixed(ctx, data, size)
}

// SendEOS sends the end-of-stream message (one zero byte).
func (o *Output) SendEOS(ctx context.Context) error { return o.Send(ctx, EOS) }

// Flush hands the active buffer on (trap_send_flush).
func (o *Output) Flush(ctx context.Context) error { return o.ifc.flush(ctx) }

// Stats returns the output's counters.
func (o *Output) Stats() OutputStats { return o.ifc.stats() }

// Close delivers what is buffered, waiting at most until ctx ends, and
// releases the interface.
func (o *Output) Close(ctx context.Context) error { return o.ifc.close(ctx) }

// OpenInput creates an input interface from one IFC_SPEC entry outside a
// module context, for programs that manage their own interfaces (the
// flowgate daemon, tests). socketDir is where u: sockets live; log may be nil.
func OpenInput(sp IfcSpec, socketDir string, log *zap.Logger) (*Input, error) {
	if log == nil {
		log = zap.NewNop()
	}
	ifc, err := newInputIFC(sp, env{socketDir: socketDir, log: log})
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", sp.Raw, err)
	}
	return newInput(ifc, sp), nil
}

// OpenOutput creates an output interface from one IFC_SPEC entry outside a
// module context. socketDir is where u: sockets live; log may be nil.
func OpenOutput(sp IfcSpec, socketDir string, log *zap.Logger) (*Output, error) {
	return OpenOutputFiles(sp, socketDir, log, nil)
}

// OpenOutputFiles is OpenOutput for a program that restarts outputs within
// one process: an f: output in mode w continues the file an earlier output
// of the same path left in files, instead of truncating it (see FileSet).
func OpenOutputFiles(sp IfcSpec, socketDir string, log *zap.Logger, files *FileSet) (*Output, error) {
	if log == nil {
		log = zap.NewNop()
	}
	ifc, err := newOutputIFC(sp, env{socketDir: socketDir, log: log, files: files})
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", sp.Raw, err)
	}
	return newOutput(ifc, sp), nil
}

// KafkaInputStats are the extra counters of a k: input.
type KafkaInputStats struct {
	Topic string `json:"topic"`
	Group string `json:"group"`
	// BadRecords counts records skipped because they were no valid TRAP
	// container (missing or unknown format header, truncated, bad framing).
	BadRecords uint64 `json:"bad_records"`
	// Lag is, per assigned partition, the records between the last one
	// delivered and the partition's high watermark at the last fetch.
	Lag map[int32]int64 `json:"lag"`
}

// KafkaOutputStats are the extra counters of a k: output.
type KafkaOutputStats struct {
	Topic      string `json:"topic"`
	Partitions int    `json:"partitions"`
	// DeliveredMessages were acknowledged by the brokers (acks=all).
	DeliveredMessages uint64 `json:"delivered_messages"`
	// FailedContainers were given up by the producer (their messages are
	// in DroppedMessages).
	FailedContainers uint64 `json:"failed_containers"`
	InFlight         int    `json:"in_flight"`
	// Retries counts failed produce requests and broker dials, each of
	// which the producer retries.
	Retries uint64 `json:"retries"`
}

// eachFixed hands send the size-byte messages packed back to back in data,
// in order, and returns how many were sent before the first error. The
// outputs' sendFixed call it with their lock held.
func eachFixed(data []byte, size int, send func(msg []byte) error) (int, error) {
	n := 0
	for ; len(data) >= size; data = data[size:] {
		if err := send(data[:size]); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
