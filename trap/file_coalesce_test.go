package trap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/nemeac"
)

// The f: output gathers sealed buffers and writes them fileCoalesce bytes
// at a time. These tests check that the file's bytes, rotation, flushing
// and loss accounting stay what writing each buffer at once gave.

// refBuffers seals msgs into .trapcap buffers as libtrap does, without the
// output: a buffer is sealed when the next message would not fit
// MaxPayload, or after every message when unbuffered. Each element is a
// whole buffer: BE uint32 payload length, then the messages.
func refBuffers(msgs [][]byte, buffered bool) [][]byte {
	var bufs [][]byte
	var cur []byte
	seal := func() {
		if cur != nil {
			bufs = append(bufs, append(binary.BigEndian.AppendUint32(nil, uint32(len(cur))), cur...))
			cur = nil
		}
	}
	for _, m := range msgs {
		if cur != nil && len(cur)+2+len(m) > MaxPayload {
			seal()
		}
		cur = AppendMessage(cur, m)
		if !buffered {
			seal()
		}
	}
	seal()
	return bufs
}

// refFile is the hello followed by bufs.
func refFile(h Hello, bufs [][]byte) []byte {
	f := AppendHello(nil, h)
	for _, b := range bufs {
		f = append(f, b...)
	}
	return f
}

// fixedMsgs are n distinct messages of size bytes.
func fixedMsgs(n, size int) [][]byte {
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = testMessage(i, size)
	}
	return msgs
}

// pendingMsgs are messages of 998 bytes (1000 framed: 100 to a buffer)
// that fill as many buffers as stay pending below fileCoalesce, and half
// of one more: sealed buffers not written yet and a partial active one.
// It returns them and the number of sealed buffers.
func pendingMsgs(extra int) ([][]byte, int) {
	sealed := (fileCoalesce - 1) / (FileBufferHeaderSize + 100*1000)
	return fixedMsgs(sealed*100+50+extra, 998), sealed
}

// mixedMsgs are n messages of 2 to 1999 bytes, in runs of 7 of one size.
func mixedMsgs(n int) [][]byte {
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = testMessage(i, 2+(i/7*7919)%1998)
	}
	return msgs
}

// msgSet is a named list of messages.
type msgSet struct {
	name string
	msgs [][]byte
}

// manyBufferSets fill a few megabytes of buffers: several coalesced
// writes' worth.
func manyBufferSets() []msgSet {
	return []msgSet{
		{"fixed 90", fixedMsgs(30000, 90)},
		{"mixed sizes", mixedMsgs(4000)},
	}
}

const (
	viaSend  = "Send"
	viaFixed = "SendFixed"
	viaBatch = "SendBatch"
)

// sendVia sends msgs through out: one Send each, SendFixed runs of up to
// 32 messages of one length, or SendBatch batches of up to 50 messages.
// End-of-stream messages (at most 1 byte) always go with Send. around, if
// set, is called around each call (with false before, true after).
func sendVia(t testing.TB, out *Output, msgs [][]byte, mode string, around func(after bool)) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < len(msgs); {
		j := i + 1
		if mode != viaSend && len(msgs[i]) > 1 {
			limit := 32
			if mode == viaBatch {
				limit = 50
			}
			for j < len(msgs) && j-i < limit && len(msgs[j]) > 1 && (mode == viaBatch || len(msgs[j]) == len(msgs[i])) {
				j++
			}
		}
		if around != nil {
			around(false)
		}
		var err error
		switch {
		case mode == viaSend || len(msgs[i]) <= 1:
			err = out.Send(ctx, msgs[i])
		case mode == viaFixed:
			var n int
			n, err = out.SendFixed(ctx, bytes.Join(msgs[i:j], nil), len(msgs[i]))
			if err == nil && n != j-i {
				err = fmt.Errorf("SendFixed sent %d of %d", n, j-i)
			}
		default:
			var wire []byte
			for _, m := range msgs[i:j] {
				wire = AppendMessage(wire, m)
			}
			err = out.SendBatch(ctx, Batch{wire: wire, n: j - i})
		}
		if err != nil {
			t.Fatalf("%s of messages %d to %d: %v", mode, i, j, err)
		}
		if around != nil {
			around(true)
		}
		i = j
	}
}

// noAutoflush is an autoflush interval (µs) no test outlives: the
// output's sealed buffers coalesce as with the default timer, which
// autoflush=off would not let them (it writes them at once).
const noAutoflush = "3600000000"

// openFormatted opens the f: output of spec (its autoflush loop running
// unless the spec turns it off) with format h set.
func openFormatted(t testing.TB, spec string, h Hello) *Output {
	t.Helper()
	out, err := OpenOutput(mustSpec(t, spec), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.SetDataFormat(h.Format, h.Spec); err != nil {
		t.Fatal(err)
	}
	return out
}

// closeAndRead closes out and returns the file at path.
func closeAndRead(t testing.TB, out *Output, path string) []byte {
	t.Helper()
	if err := out.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// isBufferPrefix reports whether b is the hello and a run of whole
// buffers from the head of bufs.
func isBufferPrefix(b []byte, h Hello, bufs [][]byte) bool {
	want := AppendHello(nil, h)
	for _, buf := range bufs {
		if len(want) >= len(b) {
			break
		}
		want = append(want, buf...)
	}
	return bytes.Equal(b, want)
}

// A file written through the coalescing output, with any send call and
// buffering, is byte for byte the hello and the buffers sealed one by one;
// nothing reaches the file but whole buffers, and close writes the rest.
func TestFileOutputCoalescedMatchesPerBuffer(t *testing.T) {
	h := Hello{Format: FormatUniRec, Spec: "uint32 X,string S"}
	for _, set := range manyBufferSets() {
		for _, buffer := range []string{"on", "off"} {
			bufs := refBuffers(set.msgs, buffer == "on")
			want := refFile(h, bufs)
			for _, mode := range []string{viaSend, viaFixed, viaBatch} {
				t.Run(set.name+"/buffer "+buffer+"/"+mode, func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "c.trapcap")
					out := openFormatted(t, "f:"+path+":autoflush="+noAutoflush+":buffer="+buffer, h)
					sendVia(t, out, set.msgs, mode, nil)
					before, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					if !isBufferPrefix(before, h, bufs) {
						t.Fatalf("before close the file (%d bytes) is not the hello and whole buffers", len(before))
					}
					if buffer == "on" && (len(before) == len(want) || len(before) <= len(AppendHello(nil, h))) {
						t.Errorf("before close %d of %d bytes are written: want writes of whole buffers and some pending", len(before), len(want))
					}
					if got := closeAndRead(t, out, path); !bytes.Equal(got, want) {
						t.Fatalf("file differs from the per-buffer reference: %d bytes, want %d", len(got), len(want))
					}
					st := out.Stats()
					if st.Buffers != uint64(len(bufs)) || st.SentMessages != uint64(len(set.msgs)) || st.DroppedMessages != 0 {
						t.Errorf("stats %+v: want %d buffers, %d messages, none dropped", st, len(bufs), len(set.msgs))
					}
				})
			}
		}
	}
}

// The C libtrap file output (the reference traffic_repeater copying a
// file of several megabytes) and ours, fed the same messages, write the
// same bytes, buffered or not, whichever send call we use.
func TestFileOutputMatchesCLibtrapManyBuffers(t *testing.T) {
	c := nemeac.Find(t)
	h := Hello{Format: FormatUniRec, Spec: "uint32 X,string S"}
	for _, set := range manyBufferSets() {
		for _, buffer := range []string{"on", "off"} {
			// No "buffer=" in the name: libtrap would cut the path there.
			t.Run(set.name+"/buffer "+buffer, func(t *testing.T) {
				dir := t.TempDir()
				in := filepath.Join(dir, "in.trapcap")
				src := openFormatted(t, "f:"+in+":autoflush=off", h)
				sendVia(t, src, set.msgs, viaSend, nil)
				closeAndRead(t, src, in)
				cout := filepath.Join(dir, "c.trapcap")
				c.Run(t, "traffic_repeater", "-i", "f:"+in+",f:"+cout+":autoflush=off:buffer="+buffer)
				want, err := os.ReadFile(cout)
				if err != nil {
					t.Fatal(err)
				}
				ch, cbufs := splitTrapcap(t, want)
				if len(want) < 2*fileCoalesce {
					t.Fatalf("the C output has %d bytes in %d buffers, want several coalesced writes' worth", len(want), len(cbufs))
				}
				var msgs [][]byte
				for _, b := range cbufs {
					msgs = append(msgs, b...)
				}
				for _, mode := range []string{viaSend, viaFixed, viaBatch} {
					path := filepath.Join(dir, "go-"+mode+".trapcap")
					out := openFormatted(t, "f:"+path+":autoflush="+noAutoflush+":buffer="+buffer, ch)
					sendVia(t, out, msgs, mode, nil)
					if got := closeAndRead(t, out, path); !bytes.Equal(got, want) {
						t.Errorf("%s: %d bytes differ from C libtrap's %d", mode, len(got), len(want))
					}
				}
			})
		}
	}
}

// fakeClock is a clock tests move by hand, safe for the autoflush loop.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *fakeClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func wrapOutput(o *fileOutput, raw string) *Output {
	return newOutput(o, IfcSpec{Kind: KindFile, Raw: raw})
}

// Size rotation is decided per buffer, counting the buffers still pending
// as written: each file holds the buffers it held when every buffer was
// written at once, also when a rotation falls due with data pending.
func TestFileOutputCoalescedRotatesBySize(t *testing.T) {
	h := Hello{Format: FormatRaw}
	sawPendingRotation := false
	for _, tc := range []struct {
		name string
		msgs [][]byte
		mode string
	}{
		{"fixed 90 via SendFixed", fixedMsgs(80000, 90), viaFixed},
		{"mixed via Send", mixedMsgs(7000), viaSend},
		{"mixed via SendBatch", mixedMsgs(7000), viaBatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const rotSize = 2 << 20
			dir := t.TempDir()
			clock := newFakeClock(time.Unix(1700000000, 0))
			o := mustOutput(t, "f:"+filepath.Join(dir, "s.trapcap")+":size=2", clock.now)
			out := wrapOutput(o, "f:s")
			if err := out.SetDataFormat(h.Format, h.Spec); err != nil {
				t.Fatal(err)
			}
			pending, idx := false, uint32(0)
			sendVia(t, out, tc.msgs, tc.mode, func(after bool) {
				if !after {
					pending, idx = o.cur > 0, o.idx
				} else if pending && o.idx != idx {
					sawPendingRotation = true
				}
			})
			if err := out.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			// libtrap: before a buffer, move on when the file holds size= bytes.
			var want [][]byte
			for _, b := range refBuffers(tc.msgs, true) {
				if n := len(want); n == 0 || len(want[n-1]) >= rotSize {
					want = append(want, AppendHello(nil, h))
				}
				want[len(want)-1] = append(want[len(want)-1], b...)
			}
			names := listDir(t, dir)
			if len(names) != len(want) || len(want) < 3 {
				t.Fatalf("files %v, want %d", names, len(want))
			}
			for i, w := range want {
				name := fmt.Sprintf("s.trapcap.%05d", i)
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, w) {
					t.Errorf("%s: %d bytes differ from the reference's %d", name, len(got), len(w))
				}
			}
		})
	}
	if !sawPendingRotation {
		t.Error("no rotation fell due with sealed buffers pending: the case is not covered")
	}
}

// Time rotation is decided when a buffer is sealed, with the time of that
// moment: buffers sealed before the period ended go to the old file even
// though they were still pending when it ended.
func TestFileOutputCoalescedRotatesByTime(t *testing.T) {
	h := Hello{Format: FormatRaw}
	dir := t.TempDir()
	start := time.Unix(1700000000, 0) // 22:13:20 UTC: the 5-minute slot began at 22:10
	clock := newFakeClock(start)
	o := mustOutput(t, "f:"+filepath.Join(dir, "t.trapcap")+":time=5", clock.now)
	out := wrapOutput(o, "f:t")
	if err := out.SetDataFormat(h.Format, h.Spec); err != nil {
		t.Fatal(err)
	}
	msgs, sealed := pendingMsgs(100)
	first := len(msgs) - 100
	sendVia(t, out, msgs[:first], viaFixed, nil)
	if o.cur == 0 || o.pos != int64(len(AppendHello(nil, h))) {
		t.Fatalf("%d buffers sealed: %d bytes pending, %d written; want them pending after the hello", sealed, o.cur, o.pos)
	}
	clock.add(100 * time.Second) // 22:15:00: the slot is over
	sendVia(t, out, msgs[first:], viaFixed, nil)
	if err := out.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	name := func(sec int64) string {
		return "t.trapcap." + time.Unix(sec, 0).Local().Format("200601021504")
	}
	bufs := refBuffers(msgs, true)
	want := map[string][]byte{
		name(1700000000 - 200): refFile(h, bufs[:sealed]), // sealed before 22:15
		name(1700000100):       refFile(h, bufs[sealed:]),
	}
	if got := listDir(t, dir); len(got) != len(want) {
		t.Fatalf("files %v", got)
	}
	for n, w := range want {
		got, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, w) {
			t.Errorf("%s: %d bytes differ from the reference's %d", n, len(got), len(w))
		}
	}
}

// The autoflush timer writes everything pending, the sealed buffers and
// the partial one, once the oldest message has waited the interval (on
// the output's clock), and not before.
func TestFileOutputAutoflushWritesPendingBuffers(t *testing.T) {
	h := Hello{Format: FormatRaw}
	path := filepath.Join(t.TempDir(), "af.trapcap")
	clock := newFakeClock(time.Unix(1700000000, 0))
	o := mustOutput(t, "f:"+path+":autoflush=20000", clock.now) // 20 ms
	o.startAutoflush()
	out := wrapOutput(o, "f:af")
	t.Cleanup(func() { out.Close(context.Background()) })
	if err := out.SetDataFormat(h.Format, h.Spec); err != nil {
		t.Fatal(err)
	}
	msgs, sealed := pendingMsgs(0)
	sendVia(t, out, msgs, viaFixed, nil)
	time.Sleep(100 * time.Millisecond) // several ticks: the clock has not moved
	if st := out.Stats(); st.Autoflushes != 0 || fileSize(t, path) != int64(len(AppendHello(nil, h))) {
		t.Fatalf("before the interval passed: %d autoflushes, %d bytes in the file", st.Autoflushes, fileSize(t, path))
	}
	clock.add(20 * time.Millisecond)
	deadline := time.Now().Add(testutil.WaitTimeout)
	for out.Stats().Autoflushes == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the autoflush timer wrote nothing after its interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bufs := refBuffers(msgs, true)
	if !bytes.Equal(got, refFile(h, bufs)) {
		t.Fatalf("after the autoflush the file has %d bytes, want the %d of all %d buffers", len(got), len(refFile(h, bufs)), sealed+1)
	}
	if st := out.Stats(); st.Buffers != uint64(sealed+1) || st.SentMessages != uint64(len(msgs)) {
		t.Errorf("stats %+v: want %d buffers, %d messages", st, sealed+1, len(msgs))
	}
}

// With autoflush off no timer bounds how long sealed buffers wait, so
// they are written as soon as they are sealed, as libtrap writes them:
// only the active buffer waits for the output's flush or close.
func TestFileOutputAutoflushOffWritesSealedBuffers(t *testing.T) {
	h := Hello{Format: FormatRaw}
	msgs := fixedMsgs(250, 998) // 100 to a buffer: two sealed, one active
	bufs := refBuffers(msgs, true)
	path := filepath.Join(t.TempDir(), "off.trapcap")
	out := openFormatted(t, "f:"+path+":autoflush=off", h)
	sendVia(t, out, msgs, viaFixed, nil)
	if n, want := fileSize(t, path), len(refFile(h, bufs[:2])); n != int64(want) {
		t.Errorf("the file has %d bytes before close, want %d: the hello and the two sealed buffers", n, want)
	}
	if got := closeAndRead(t, out, path); !bytes.Equal(got, refFile(h, bufs)) {
		t.Errorf("file of %d bytes, want the %d of libtrap's", len(got), len(refFile(h, bufs)))
	}
}

// flush, a format change and close each write every pending buffer.
func TestFileOutputWritesPendingBuffersOn(t *testing.T) {
	h := Hello{Format: FormatRaw}
	msgs, sealed := pendingMsgs(0)
	want := refFile(h, refBuffers(msgs, true))
	for _, tc := range []struct {
		name string
		act  func(*Output) error
	}{
		{"flush", func(out *Output) error { return out.Flush(context.Background()) }},
		{"format change", func(out *Output) error { return out.SetDataFormat(FormatUniRec, "uint8 X") }},
		{"close", func(out *Output) error { return out.Close(context.Background()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := mustOutput(t, "f:"+filepath.Join(dir, "p.trapcap")+":a", nil)
			out := wrapOutput(o, "f:p")
			defer out.Close(context.Background())
			if err := out.SetDataFormat(h.Format, h.Spec); err != nil {
				t.Fatal(err)
			}
			sendVia(t, out, msgs, viaFixed, nil)
			path := filepath.Join(dir, "p.trapcap.00000")
			if n := fileSize(t, path); n != int64(len(AppendHello(nil, h))) {
				t.Fatalf("%d bytes written before %s, want the hello alone", n, tc.name)
			}
			if err := tc.act(out); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("after %s the file has %d bytes, want %d", tc.name, len(got), len(want))
			}
			if st := out.Stats(); st.Buffers != uint64(sealed+1) {
				t.Errorf("%d buffers counted, want %d", st.Buffers, sealed+1)
			}
		})
	}
}

// A write that fails (a full disk) loses exactly the messages of the
// pending buffers that do not fit, as libtrap, which writes one buffer at
// a time, would: counted as dropped and named in the error; the file keeps
// its whole buffers and writing resumes cleanly. "/dev/full" fails every
// write; "tmpfs" has room for the hello and the first buffer, not for the
// coalesced write (root only).
func TestFileOutputFullDiskLosesPendingBuffers(t *testing.T) {
	h := Hello{Format: FormatRaw}
	msgs := fixedMsgs(1600, 998) // 100 to a buffer
	// The first write goes out when the sealed buffers reach fileCoalesce.
	bufs := refBuffers(msgs, true)
	inFirst, size := 0, 0
	for size < fileCoalesce {
		size += len(bufs[inFirst])
		inFirst++
	}
	lostMsgs := inFirst * 100
	for _, tc := range []struct {
		name string
		// fail makes the output's writes fail; the function it returns
		// makes room again.
		fail func(t *testing.T, o *fileOutput) func()
		dir  func(t *testing.T) string
		kept int // buffers that fit: they go in, as libtrap writes them
	}{
		{"dev/full", func(t *testing.T, o *fileOutput) func() {
			full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Skipf("no /dev/full: %v", err)
			}
			f := o.f
			o.f = full
			return func() { o.f = f; full.Close() }
		}, func(t *testing.T) string { return t.TempDir() }, 0},
		{"tmpfs", func(t *testing.T, o *fileOutput) func() {
			filler := filepath.Join(filepath.Dir(o.name), "filler")
			f, err := os.Create(filler)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			block := make([]byte, 64<<10)
			for {
				if _, err := f.Write(block); err != nil {
					break
				}
			}
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			// Leave room for the hello and part of the write, not all of it.
			if err := f.Truncate(st.Size() - fileCoalesce/2); err != nil {
				t.Fatal(err)
			}
			return func() { os.Remove(filler) }
		}, func(t *testing.T) string { return testutil.SmallTmpfs(t, "4m") }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			path := filepath.Join(dir, "full.trapcap")
			o := mustOutput(t, "f:"+path, nil)
			out := wrapOutput(o, "f:full")
			defer out.Close(context.Background())
			if err := out.SetDataFormat(h.Format, h.Spec); err != nil {
				t.Fatal(err)
			}
			sendVia(t, out, msgs[:lostMsgs], viaSend, nil) // all pending
			room := tc.fail(t, o)
			err := out.Send(context.Background(), msgs[lostMsgs])
			room()
			kept := tc.kept * 100
			if !errors.Is(err, ErrIO) || !strings.Contains(err.Error(), fmt.Sprintf("(%d messages lost)", lostMsgs-kept)) {
				t.Fatalf("send after the disk filled: %v, want an I/O error saying %d messages were lost", err, lostMsgs-kept)
			}
			if tc.name == "tmpfs" && !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("error %v does not say the disk is full", err)
			}
			st := out.Stats()
			if st.DroppedMessages != uint64(lostMsgs-kept) || st.SentMessages != uint64(kept) || st.Buffers != uint64(tc.kept) {
				t.Errorf("stats %+v: want %d dropped, %d sent in %d buffers", st, lostMsgs-kept, kept, tc.kept)
			}
			head := refFile(h, bufs[:tc.kept])
			if n := fileSize(t, path); n != int64(len(head)) {
				t.Errorf("the file has %d bytes after the failed write, want %d: the hello and the %d buffers that fit", n, len(head), tc.kept)
			}
			// The message the failing send carried was refused (the
			// error says so); the rest go in once there is room.
			rest := msgs[lostMsgs+1:]
			sendVia(t, out, rest, viaFixed, nil)
			if err := out.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := append(head, refFile(h, refBuffers(rest, true))[len(refFile(h, nil)):]...); !bytes.Equal(got, want) {
				t.Errorf("file of %d bytes, want the %d of the hello, the buffers that fit and the messages after the loss", len(got), len(want))
			}
			st = out.Stats()
			if st.DroppedMessages != uint64(lostMsgs-kept) || st.SentMessages != uint64(kept+len(rest)) {
				t.Errorf("stats %+v: want %d dropped, %d sent", st, lostMsgs-kept, kept+len(rest))
			}
		})
	}
}
