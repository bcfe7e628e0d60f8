package trap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// fileOutput is the f: output interface: it writes .trapcap files
// (libtrap ifc_file.c, trap-wire.md §8). A file is the hello followed by
// buffers, each a BE uint32 payload length and the messages.
type fileOutput struct {
	mu  sync.Mutex
	log *zap.Logger
	now func() time.Time

	base     string        // PATH as given
	appendM  bool          // mode a: always a fresh .%05u file
	rotTime  time.Duration // time=MIN, 0 when off
	rotSize  int64         // size=MB in bytes, 0 when off
	stdout   bool          // /dev/stdout: mode w, no rotation
	buffered bool          // buffer=on

	hello    Hello
	hasFmt   bool
	f        *os.File
	name     string
	pos      int64 // bytes written to the current file
	wroteHdr bool  // the current file has its hello
	start    time.Time
	idx      uint32

	// area holds what is not written yet, back to back: the sealed
	// buffers (length header filled in) in area[:cur], then the active
	// buffer: FileBufferHeaderSize reserved bytes at area[cur:] and its
	// messages. It is allocated once (fileArea bytes) and reused.
	area  []byte
	cur   int
	since time.Time // when the oldest message in area entered it

	pendBufs uint64 // sealed buffers in area[:cur]
	pendMsgs uint64 // messages in them
	pendEOS  uint64 // end-of-stream messages among them: markers, not records
	actMsgs  uint64 // messages in the active buffer
	actEOS   uint64

	// files records where this output stopped, so that an output of the
	// same PATH opened later in the process continues the file (nil: no
	// record). contHello is the format of the continued file until the
	// first setFormat: an equal format appends, another switches files.
	files     *FileSet
	contHello *Hello

	autoflush time.Duration
	done      chan struct{} // closed by close: ends the autoflush loop
	loopDone  chan struct{}

	messages    uint64 // messages accepted and not lost
	dropped     uint64 // messages accepted, then lost to a failed write
	buffers     uint64 // buffers written
	autoflushes uint64
}

// fileCoalesce is how many bytes of sealed TRAP buffers an f: output
// gathers before it writes them with one write(2). Every buffer is still
// sealed where libtrap seals it (when the next message would not fit
// MaxPayload), and rotation is still decided per buffer, so the file's
// bytes are the same; only the writes are fewer and larger: one per two to
// three buffers instead of one per buffer (~100 kB, not page aligned).
//
// The size is measured, not guessed: the flowgate daemon writing an f:
// file at 3 M flows/s (bench/collector.sh, Linux 6.18 on ext4) took 0.91x
// the CPU of the per-buffer writer with 256 KiB, but 1.3x with 512 KiB
// and 1.5x with 1 MiB: the page cache then fills large folios, and copying into
// freshly allocated large folios (copy_folio_from_iter_atomic) cost 48% of
// the process's CPU against 2-3% with smaller writes. Unless the output is
// unbuffered, data waits in memory until this fills, the autoflush timer
// fires, or the output is flushed, changes format or closes. With autoflush
// off nothing would bound that wait: sealed buffers are written at once.
const fileCoalesce = 256 << 10

// fileArea is the size of an f: output's write area: fileCoalesce bytes
// of sealed buffers plus the active buffer.
const fileArea = fileCoalesce + FileBufferHeaderSize + MaxPayload

// FileSet remembers where the w-mode file outputs of a process stopped
// writing: the file, its size and format. An output opened later on the
// same PATH with the same FileSet (the flowgate daemon restarting an output
// on a reload) appends to that file instead of truncating it, as long as
// nobody else changed the file in between and the format is the same; a
// different format switches files as a format change does (trap-wire.md
// §8.3). Without a FileSet, mode w truncates as libtrap does. It is safe
// for concurrent use.
type FileSet struct {
	mu sync.Mutex
	m  map[string]fileMark
}

type fileMark struct {
	name   string
	idx    uint32
	start  time.Time
	size   int64
	hello  Hello
	header bool // the hello is in the file
}

// NewFileSet returns an empty FileSet.
func NewFileSet() *FileSet { return &FileSet{m: map[string]fileMark{}} }

func (fs *FileSet) key(base string) string {
	if a, err := filepath.Abs(base); err == nil {
		return a
	}
	return base
}

func (fs *FileSet) load(base string) (fileMark, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	m, ok := fs.m[fs.key(base)]
	return m, ok
}

func (fs *FileSet) store(base string, m fileMark) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.m[fs.key(base)] = m
}

// newFileOutput opens the first file of an f: output. The file exists
// (empty) from now on; the hello goes in with the first buffer.
// Unless autoflush is off, a goroutine writes a buffer that has waited
// autoflush long (libtrap's default 2 s) even though it is not full, so
// records reach the file while the module runs, not only at exit.
func newFileOutput(sp IfcSpec, e env) (outputIFC, error) {
	o, err := newFileOutputClock(sp, e, time.Now)
	if err != nil {
		return nil, err
	}
	o.startAutoflush()
	return o, nil
}

func newFileOutputClock(sp IfcSpec, e env, now func() time.Time) (*fileOutput, error) {
	o := &fileOutput{log: e.log, now: now, buffered: sp.Buffer, autoflush: sp.Autoflush, files: e.files}
	if o.log == nil {
		o.log = zap.NewNop()
	}
	if len(sp.Params) == 0 || sp.Params[0] == "" {
		return nil, fmt.Errorf("%w: file output %q needs a path (f:PATH[:w|:a][:time=MIN][:size=MB])", ErrBadParams, sp.Raw)
	}
	o.base = sp.Params[0]
	for _, p := range sp.Params[1:] {
		key, val, hasEq := strings.Cut(p, "=")
		switch {
		case !hasEq && p == "w":
			o.appendM = false
		case !hasEq && p == "a":
			o.appendM = true
		case hasEq && key == "time":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("%w: file output %q: time=%q (want minutes > 0)", ErrBadParams, sp.Raw, val)
			}
			o.rotTime = time.Duration(n) * time.Minute
		case hasEq && key == "size":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("%w: file output %q: size=%q (want megabytes > 0)", ErrBadParams, sp.Raw, val)
			}
			o.rotSize = int64(n) << 20
		default:
			return nil, fmt.Errorf("%w: file output %q: unknown parameter %q (want w, a, time=MIN or size=MB)", ErrBadParams, sp.Raw, p)
		}
	}
	if o.base == "/dev/stdout" {
		// libtrap forces mode w without rotation for stdout.
		o.stdout, o.appendM, o.rotTime, o.rotSize = true, false, 0, 0
	}
	o.area = make([]byte, FileBufferHeaderSize, fileArea)
	o.start = o.roundedNow()
	if o.continueFile() {
		return o, nil
	}
	if err := o.open(); err != nil {
		return nil, err
	}
	return o, nil
}

// continueFile reopens the file an earlier output of the same PATH and
// FileSet stopped writing, in mode w, when it is still as that output left
// it and still current (same time=MIN period). It reports whether it did.
func (o *fileOutput) continueFile() bool {
	if o.files == nil || o.stdout || o.appendM {
		return false
	}
	m, ok := o.files.load(o.base)
	if !ok || (o.rotTime > 0 && !m.start.Equal(o.start)) {
		return false
	}
	st, err := os.Stat(m.name)
	if err != nil || !st.Mode().IsRegular() || st.Size() != m.size {
		return false
	}
	f, err := os.OpenFile(m.name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return false
	}
	o.f, o.name, o.pos, o.wroteHdr, o.idx = f, m.name, m.size, m.header, m.idx
	if m.header {
		h := m.hello
		o.contHello = &h
	}
	o.log.Debug("trap file output continues", zap.String("file", m.name), zap.Int64("size", m.size))
	return true
}

// startAutoflush starts the autoflush loop (buffered outputs only: an
// unbuffered one writes every message at once).
func (o *fileOutput) startAutoflush() {
	if o.autoflush <= 0 || !o.buffered {
		return
	}
	o.done, o.loopDone = make(chan struct{}), make(chan struct{})
	go o.autoflushLoop()
}

// autoflushLoop writes everything pending (the sealed buffers and the
// active one) once its oldest message has waited the autoflush interval,
// checking four times per interval (at most once a second).
func (o *fileOutput) autoflushLoop() {
	defer close(o.loopDone)
	period := min(max(o.autoflush/4, time.Millisecond), time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			return
		case <-t.C:
		}
		o.mu.Lock()
		if o.f != nil && o.pendMsgs+o.actMsgs > 0 && o.now().Sub(o.since) >= o.autoflush {
			if err := o.seal(true); err != nil {
				o.log.Warn("trap file output: autoflush failed", zap.String("file", o.name), zap.Error(err))
			} else {
				o.autoflushes++
			}
		}
		o.mu.Unlock()
	}
}

// roundedNow is the current time rounded down to a multiple of time=MIN
// since the epoch (create_next_filename).
func (o *fileOutput) roundedNow() time.Time {
	t := o.now()
	if o.rotTime <= 0 {
		return t
	}
	step := int64(o.rotTime / time.Second)
	s := t.Unix()
	return time.Unix(s-((s%step)+step)%step, 0)
}

// fileName builds the name for the current start time and index:
// PATH[.YYYYmmddHHMM][.NNNNN], local time as libtrap's strftime.
func (o *fileOutput) fileName(idx uint32) string {
	n := o.base
	if o.rotTime > 0 {
		n += "." + o.start.In(time.Local).Format("200601021504")
	}
	if o.rotSize > 0 || o.appendM {
		n += fmt.Sprintf(".%05d", idx)
	}
	return n
}

// open opens the file for the current start time and index. Mode a skips
// every index whose file already exists, even when PATH itself does not.
func (o *fileOutput) open() error {
	if o.stdout {
		o.f, o.name, o.pos, o.wroteHdr = os.Stdout, o.base, 0, false
		return nil
	}
	name := o.fileName(o.idx)
	if o.appendM {
		for {
			if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
				break
			}
			if o.idx == 99999 {
				return fmt.Errorf("%w: file output %q: no free .%%05u suffix left", ErrIO, o.base)
			}
			o.idx++
			name = o.fileName(o.idx)
		}
	}
	if dir := filepath.Dir(name); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%w: file output: creating directory %q: %w", ErrIO, dir, err)
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if o.appendM {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(name, flags, 0o644)
	if err != nil {
		return fmt.Errorf("%w: file output: %w", ErrIO, err)
	}
	o.f, o.name, o.pos, o.wroteHdr = f, name, 0, false
	o.log.Debug("trap file output opened", zap.String("file", name))
	return nil
}

func (o *fileOutput) closeFile() error {
	if o.f == nil || o.stdout {
		o.f = nil
		return nil
	}
	err := o.f.Close()
	o.f = nil
	if err != nil {
		return fmt.Errorf("%w: file output: closing %q: %w", ErrIO, o.name, err)
	}
	return nil
}

// nextFile closes the current file and opens the one after it.
func (o *fileOutput) nextFile(newStart bool) error {
	if err := o.closeFile(); err != nil {
		return err
	}
	if newStart {
		o.start, o.idx = o.roundedNow(), 0
	} else if o.rotSize > 0 || o.appendM {
		o.idx++
	}
	return o.open()
}

func (o *fileOutput) setFormat(h Hello) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.hasFmt {
		o.hello, o.hasFmt = h, true
		if c := o.contHello; c != nil {
			o.contHello = nil
			if *c != h {
				// The continued file carries another format: on to the
				// next file, as a format change does.
				return o.nextFile(false)
			}
		}
		return nil
	}
	if h == o.hello {
		return nil
	}
	// Data buffered under the old format belongs in the old file.
	if err := o.seal(true); err != nil {
		return err
	}
	o.hello = h
	if o.stdout {
		o.wroteHdr = false
		return nil
	}
	// switch_file_wrapper: the next name. In plain w mode without size=
	// or time= that is the same path, truncated (trap-wire.md §8.3).
	return o.nextFile(false)
}

func (o *fileOutput) send(_ context.Context, msg []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sendLocked(msg)
}

// sendFixed sends the size-byte messages packed in data under one lock.
// A buffered output copies, per run, as many as fit the active buffer in
// one tight loop (length prefix and record each) and counts them once.
func (o *fileOutput) sendFixed(_ context.Context, data []byte, size int) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.buffered || size <= 1 {
		// Unbuffered, every message is written on its own; a 1-byte
		// message is an end-of-stream marker, counted apart.
		return eachFixed(data, size, o.sendLocked)
	}
	if err := o.sendable(size); err != nil {
		return 0, err
	}
	stride, sent := size+2, 0
	for len(data) >= size {
		k := min((o.cur+FileBufferHeaderSize+MaxPayload-len(o.area))/stride, len(data)/size)
		if k == 0 {
			// The next record does not fit: seal the buffer (the
			// empty one that follows holds at least one).
			if err := o.seal(false); err != nil {
				return sent, err
			}
			continue
		}
		o.accept()
		end := len(o.area) + k*stride
		putFixed(o.area[len(o.area):end], data[:k*size], size)
		o.area = o.area[:end]
		o.actMsgs += uint64(k)
		o.messages += uint64(k)
		data = data[k*size:]
		sent += k
	}
	return sent, nil
}

// putFixed writes the size-byte records of src to dst, each behind its BE
// uint16 length; dst holds exactly len(src)/size*(size+2) bytes.
func putFixed(dst, src []byte, size int) {
	hi, lo := byte(size>>8), byte(size)
	for len(src) >= size && len(dst) >= size+2 {
		dst[0], dst[1] = hi, lo
		copy(dst[2:size+2], src[:size])
		dst, src = dst[size+2:], src[size:]
	}
}

// sendable checks that the output is open and that a message of n bytes
// fits a buffer.
func (o *fileOutput) sendable(n int) error {
	if o.f == nil {
		return fmt.Errorf("%w: file output %q is closed", ErrIO, o.base)
	}
	if n+2 > MaxPayload {
		return fmt.Errorf("%w: file output %q: message of %d bytes does not fit a %d-byte buffer", ErrBadParams, o.base, n, MaxPayload)
	}
	return nil
}

// accept notes when the first message enters an empty area (the age the
// autoflush timer looks at).
func (o *fileOutput) accept() {
	if o.pendMsgs+o.actMsgs == 0 {
		o.since = o.now()
	}
}

func (o *fileOutput) sendLocked(msg []byte) error {
	if err := o.sendable(len(msg)); err != nil {
		return err
	}
	if len(o.area)+2+len(msg) > o.cur+FileBufferHeaderSize+MaxPayload {
		if err := o.seal(false); err != nil {
			return err
		}
	}
	o.accept()
	o.area = AppendMessage(o.area, msg)
	o.messages++
	o.actMsgs++
	eos := IsEOS(msg)
	if eos {
		o.actEOS++
	}
	if !o.buffered {
		// Nothing else is pending, so a failure lost this message alone.
		if err := o.seal(true); err != nil {
			// The caller learns of this message's loss from the error.
			if !eos {
				o.dropped--
			}
			return err
		}
	}
	return nil
}

// seal closes the active buffer, if it holds messages, where libtrap
// writes one: it first moves on to the next file when a rotation is due
// (time=MIN, or size=MB counting what is pending as written), writing what
// is pending to the old file before; it puts the hello at the head of a
// fresh file; then the buffer joins the sealed ones. These are written,
// with one write, when write is set, when the output is unbuffered or has
// autoflush off, or once they reach fileCoalesce bytes. Whatever a failure keeps out of
// the file is lost and counted (see writePending and loseActive).
func (o *fileOutput) seal(write bool) error {
	if o.actMsgs == 0 {
		if write {
			return o.writePending()
		}
		return nil
	}
	if o.f == nil {
		return o.loseActive(fmt.Errorf("%w: file output %q is closed", ErrIO, o.base))
	}
	var errs error
	if !o.stdout {
		due, newStart := false, false
		switch {
		case o.rotTime > 0 && !o.now().Before(o.start.Add(o.rotTime)):
			due, newStart = true, true
		case o.rotSize > 0 && o.pos+int64(o.cur) >= o.rotSize:
			due = true
		}
		if due {
			// What is pending belongs in the old file.
			errs = o.writePending()
			if err := o.nextFile(newStart); err != nil {
				return errors.Join(errs, o.loseActive(err))
			}
		}
	}
	if !o.wroteHdr {
		// A fresh file: nothing sealed is pending (it went to the old
		// file), so the hello goes first.
		var hb [HelloHeaderSize + 512]byte
		h := AppendHello(hb[:0], o.hello)
		if err := o.write(h); err != nil {
			return errors.Join(errs, o.loseActive(fmt.Errorf("%w: file output: writing hello to %q: %w", ErrIO, o.name, err)))
		}
		o.wroteHdr = true
	}
	binary.BigEndian.PutUint32(o.area[o.cur:], uint32(len(o.area)-o.cur-FileBufferHeaderSize))
	o.cur = len(o.area)
	o.pendBufs++
	o.pendMsgs += o.actMsgs
	o.pendEOS += o.actEOS
	o.actMsgs, o.actEOS = 0, 0
	if write || !o.buffered || o.autoflush <= 0 || o.cur >= fileCoalesce {
		errs = errors.Join(errs, o.writePending())
	}
	// The next active buffer: below fileCoalesce, there is room for it.
	o.area = o.area[:o.cur+FileBufferHeaderSize]
	return errs
}

// writePending writes the sealed buffers with one write and moves the
// active buffer (if any: it holds messages only around a rotation) to the
// front of the area. When that write fails (a full disk), the buffers are
// written one by one, as libtrap writes them, so those that fit still go
// in; a buffer whose write fails leaves the file as it was and is lost:
// its messages are counted as dropped (an end-of-stream marker is no
// record: not counted) and the error says how many there were.
func (o *fileOutput) writePending() error {
	if o.cur == 0 {
		return nil
	}
	var lost error
	if err := o.write(o.area[:o.cur]); err != nil {
		if o.pendBufs > 1 && !o.stdout { // stdout cannot take back a part written
			lost = o.writeEach(o.area[:o.cur])
		} else {
			lost = o.lose(o.pendBufs, o.pendMsgs, o.pendEOS, err)
		}
	} else {
		o.buffers += o.pendBufs
	}
	o.area = o.area[:copy(o.area, o.area[o.cur:])]
	o.cur, o.pendBufs, o.pendMsgs, o.pendEOS = 0, 0, 0, 0
	return lost
}

// writeEach writes the sealed buffers in b one write each and returns the
// loss of those that failed (see lose), nil when none did.
func (o *fileOutput) writeEach(b []byte) error {
	var bufs, msgs, eos uint64
	var last error
	for len(b) > 0 {
		n := FileBufferHeaderSize + int(binary.BigEndian.Uint32(b))
		err := o.write(b[:n])
		if err == nil {
			o.buffers++
		} else {
			last = err
			bufs++
			for m := b[FileBufferHeaderSize:n]; len(m) > 0; {
				l := 2 + int(binary.BigEndian.Uint16(m))
				msgs++
				if IsEOS(m[2:l]) {
					eos++
				}
				m = m[l:]
			}
		}
		b = b[n:]
	}
	if last == nil {
		return nil
	}
	return o.lose(bufs, msgs, eos, last)
}

// lose counts the msgs messages (eos of them end-of-stream markers) of
// bufs buffers a write failed on as dropped and returns the error.
func (o *fileOutput) lose(bufs, msgs, eos uint64, err error) error {
	o.dropped += msgs - eos
	o.messages -= msgs
	return fmt.Errorf("%w: file output: writing %d buffers to %q: %w (%d messages lost)", ErrIO, bufs, o.name, err, msgs)
}

// write writes b whole at the end of the file or, failing that (a full
// disk), cuts off what part of it went in, so that the file stays a
// sequence of whole buffers and writing resumes cleanly once it can.
func (o *fileOutput) write(b []byte) error {
	n, err := o.f.Write(b)
	if err == nil {
		o.pos += int64(n)
		return nil
	}
	if n > 0 && !o.stdout {
		if terr := o.f.Truncate(o.pos); terr != nil {
			err = errors.Join(err, terr)
		}
		if _, serr := o.f.Seek(o.pos, io.SeekStart); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return err
}

// loseActive drops the active buffer when it cannot reach a file: its
// messages are counted as dropped (end-of-stream markers excepted) and
// the error says how many there were.
func (o *fileOutput) loseActive(err error) error {
	n := o.actMsgs
	o.dropped += n - o.actEOS
	o.messages -= n
	o.area = o.area[:o.cur+FileBufferHeaderSize]
	o.actMsgs, o.actEOS = 0, 0
	return fmt.Errorf("%w (%d messages lost)", err, n)
}

func (o *fileOutput) flush(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seal(true)
}

func (o *fileOutput) close(context.Context) error {
	if o.done != nil {
		select {
		case <-o.done:
		default:
			close(o.done)
		}
		<-o.loopDone
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.seal(true)
	if o.files != nil && !o.stdout && !o.appendM {
		o.files.store(o.base, fileMark{name: o.name, idx: o.idx, start: o.start, size: o.pos, hello: o.hello, header: o.wroteHdr})
	}
	return errors.Join(err, o.closeFile())
}

func (o *fileOutput) stats() OutputStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return OutputStats{Kind: KindFile, ID: o.name, SentMessages: o.messages, DroppedMessages: o.dropped, Buffers: o.buffers, Autoflushes: o.autoflushes}
}
