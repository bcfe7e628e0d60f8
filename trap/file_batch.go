package trap

import (
	"context"
	"encoding/binary"
)

// sendBatch sends the length-prefixed messages of wire (well framed, as a
// Batch guarantees) as send would one by one, under one lock.
func (o *fileOutput) sendBatch(_ context.Context, wire []byte, _ int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(wire) > 0 {
		m := 2 + int(binary.BigEndian.Uint16(wire))
		if err := o.sendLocked(wire[2:m]); err != nil {
			return err
		}
		wire = wire[m:]
	}
	return nil
}
