package trap

import (
	"context"
	"encoding/binary"
)

// sendBatch sends the length-prefixed messages of wire (well framed, none
// an end-of-stream marker, as a Batch guarantees) as send would one by
// one, under one lock. A buffered output copies each run of whole messages
// that fits the active buffer in one piece.
func (o *fileOutput) sendBatch(_ context.Context, wire []byte, n int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.buffered {
		for len(wire) > 0 {
			m := 2 + int(binary.BigEndian.Uint16(wire))
			if err := o.sendLocked(wire[2:m]); err != nil {
				return err
			}
			wire = wire[m:]
		}
		return nil
	}
	if err := o.sendable(0); err != nil {
		return err
	}
	for len(wire) > 0 && n > 0 {
		k, cnt := fitRun(wire, n, o.cur+FileBufferHeaderSize+MaxPayload-len(o.area))
		if cnt == 0 {
			// The next message does not fit: seal the buffer. Any
			// message (at most MaxMessage bytes) fits an empty one.
			if err := o.seal(false); err != nil {
				return err
			}
			continue
		}
		o.accept()
		o.area = append(o.area, wire[:k]...)
		o.actMsgs += uint64(cnt)
		o.messages += uint64(cnt)
		wire, n = wire[k:], n-cnt
	}
	return nil
}
