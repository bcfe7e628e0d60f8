package ingest

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// fixedOutput is a memOutput that also takes batches, and refuses the
// records whose first byte is in refuse.
type fixedOutput struct {
	*memOutput
	calls  int
	refuse map[byte]bool
}

func (o *fixedOutput) SendFixed(ctx context.Context, data []byte, size int) (int, error) {
	o.calls++
	n := 0
	for ; len(data) >= size; data = data[size:] {
		if o.refuse[data[0]] {
			return n, errors.New("refused")
		}
		if err := o.Send(ctx, data[:size]); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// TestEmitFixedDeliversLikeEmit: a batch reaches an output with SendFixed
// in one call and an output without it record by record; a record an
// output refuses is counted as failed for it alone and the rest of the
// batch still goes out.
func TestEmitFixedDeliversLikeEmit(t *testing.T) {
	const spec = "uint8 PROTOCOL,uint16 DST_PORT"
	plain := newMemOutput(t, "plain", spec)
	batch := &fixedOutput{memOutput: newMemOutput(t, "batch", spec), refuse: map[byte]bool{2: true, 4: true}}
	tg := NewTarget(plain.tmpl, []Output{plain, batch}, nil)
	var data []byte
	for i := range 5 {
		data = append(data, byte(i), byte(i), 0)
	}
	tg.EmitFixed(context.Background(), data, 3)
	if tg.Records() != 5 {
		t.Errorf("target counted %d records, want 5", tg.Records())
	}
	if got := bytes.Join(recsOf(plain), nil); !bytes.Equal(got, data) {
		t.Errorf("plain output got % x, want % x", got, data)
	}
	if got, want := bytes.Join(recsOf(batch.memOutput), nil), []byte{0, 0, 0, 1, 1, 0, 3, 3, 0}; !bytes.Equal(got, want) {
		t.Errorf("batch output got % x, want % x", got, want)
	}
	if batch.calls != 2 {
		t.Errorf("%d SendFixed calls, want 2 (the second starts after the first refusal; the last record is the second refusal)", batch.calls)
	}
	stats := map[string]OutputStats{}
	for _, s := range tg.outs {
		stats[s.out.Name()] = s.stats()
	}
	if st := stats["plain"]; st.Sent != 5 || st.Failed != 0 {
		t.Errorf("plain: %+v, want 5 sent", st)
	}
	if st := stats["batch"]; st.Sent != 3 || st.Failed != 2 {
		t.Errorf("batch: %+v, want 3 sent and 2 failed", st)
	}
}

func recsOf(o *memOutput) [][]byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([][]byte(nil), o.recs...)
}
