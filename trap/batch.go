package trap

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
)

// Batch is a run of messages from one received buffer, kept in their wire
// form: each message is a BE uint16 length followed by its bytes, back to
// back (trap-wire.md §5). Input.RecvBatch hands a module a whole container
// this way, without a call per message, and Output.SendBatch forwards one
// with a copy per container instead of one per message.
//
// A Batch refers to the input's receive buffer: it is valid until the next
// Recv or RecvBatch on that input.
type Batch struct {
	wire []byte
	n    int
	eos  bool
}

// Len returns the number of messages in the batch.
func (b Batch) Len() int { return b.n }

// Wire returns the messages in their wire form (length-prefixed).
func (b Batch) Wire() []byte { return b.wire }

// EndOfStream reports whether an end-of-stream message (length <= 1)
// followed the batch's messages. It is not part of the batch: a module
// forwards it with Output.SendEOS, or stops.
func (b Batch) EndOfStream() bool { return b.eos }

// All yields the messages of the batch in order. The slices alias the
// receive buffer.
func (b Batch) All() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		w := b.wire
		for len(w) >= 2 {
			m := int(binary.BigEndian.Uint16(w))
			if !yield(w[2 : 2+m]) {
				return
			}
			w = w[2+m:]
		}
	}
}

// NewBatch checks that wire holds whole length-prefixed messages and
// returns them as a batch. An end-of-stream message ends the batch: the
// messages before it are returned with EndOfStream set, and rest holds
// what followed it. Modules that build their own containers use it to send
// them with Output.SendBatch.
func NewBatch(wire []byte) (b Batch, rest []byte, err error) {
	b, rest, err = scanBatch(wire)
	if err != nil {
		return Batch{}, nil, err
	}
	return b, rest, nil
}

// scanBatch walks the length prefixes of payload. It returns the longest
// well-framed run of data messages, stopping before an end-of-stream
// message (consumed: rest starts after it) or a framing error (returned
// with the good prefix; rest is then nil).
func scanBatch(payload []byte) (b Batch, rest []byte, err error) {
	off, n := 0, 0
	if len(payload) >= 2 {
		// Records of a template without dynamic fields all have the
		// first one's length. Checking the prefixes where they must be
		// makes the loads independent of each other, which the walk
		// below (each length says where the next one is) cannot; it
		// picks up at the first message of another length.
		m := int(binary.BigEndian.Uint16(payload))
		if m > 1 {
			stride := m + 2
			end := len(payload) - stride // a whole message fits at off <= end
			hi, lo := byte(m>>8), byte(m)
			for off <= end && payload[off] == hi && payload[off+1] == lo {
				off += stride
				n++
			}
		}
	}
	for off < len(payload) {
		if len(payload)-off < 2 {
			err = fmt.Errorf("%w: %d stray byte(s)", ErrBadFraming, len(payload)-off)
			break
		}
		m := int(binary.BigEndian.Uint16(payload[off:]))
		if off+2+m > len(payload) {
			err = fmt.Errorf("%w: message of %d bytes, %d left", ErrBadFraming, m, len(payload)-off-2)
			break
		}
		if m <= 1 {
			return Batch{wire: payload[:off], n: n, eos: true}, payload[off+2+m:], nil
		}
		off += 2 + m
		n++
	}
	return Batch{wire: payload[:off], n: n}, nil, err
}

// RecvBatch returns, in one call, the messages of the next received buffer
// that Recv has not returned yet: a whole container from a socket, a
// whole buffer from a file. It negotiates, reconnects and times out as
// Recv does, and formatChanged has Recv's meaning for the batch's first
// message (all messages of one buffer share its format).
//
// A batch stops before an end-of-stream message, which is consumed and
// reported by b.EndOfStream(); b may then be empty. A framing error in a
// buffer ends the batch before the bad message and is returned by the next
// call. Recv and RecvBatch may be mixed; the batch is valid until the
// next call of either.
func (in *Input) RecvBatch(ctx context.Context) (b Batch, formatChanged bool, err error) {
	if in.pendErr != nil {
		err, in.pendErr = in.pendErr, nil
		return Batch{}, false, err
	}
	if err := in.fill(ctx); err != nil {
		return Batch{}, false, err
	}
	b, rest, err := scanBatch(in.pending)
	in.pending = rest
	if b.eos {
		in.messages.Add(uint64(b.n) + 1)
	} else {
		in.messages.Add(uint64(b.n))
	}
	if err != nil {
		err = fmt.Errorf("input %q: %w", in.spec.Raw, err)
		if b.n == 0 && !b.eos {
			return Batch{}, false, err
		}
		in.pendErr = err
	}
	formatChanged, in.changed = in.changed, false
	return b, formatChanged, nil
}

// fitRun returns how many bytes (k) and messages (cnt) from the head of
// wire, n well-framed length-prefixed messages, fit in room bytes: the
// run of whole messages an output copies into its buffer in one piece.
func fitRun(wire []byte, n, room int) (k, cnt int) {
	if len(wire) <= room {
		return len(wire), n // all the rest fits: no walk
	}
	for k+2 <= len(wire) && cnt < n {
		m := 2 + int(binary.BigEndian.Uint16(wire[k:]))
		if k+m > room {
			break
		}
		k += m
		cnt++
	}
	return k, cnt
}

// batchSender is implemented by outputs that take a batch in one piece;
// others get its messages one by one.
type batchSender interface {
	sendBatch(ctx context.Context, wire []byte, n int) error
}

// SendBatch sends the messages of b, in order, exactly as calling Send for
// each would, but with one lock and, on socket outputs, one copy per
// container instead of one per message. The end-of-stream mark of b is not
// sent; use SendEOS. On error, an unknown prefix of b was sent.
func (o *Output) SendBatch(ctx context.Context, b Batch) error {
	if !o.hasFmt {
		return fmt.Errorf("output %q: %w", o.spec.Raw, ErrFormatNotSet)
	}
	if b.n == 0 {
		return nil
	}
	if bs, ok := o.ifc.(batchSender); ok {
		return bs.sendBatch(ctx, b.wire, b.n)
	}
	for msg := range b.All() {
		if err := o.ifc.send(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}
