package trap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
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

	buf []byte // FileBufferHeaderSize reserved bytes, then messages

	messages uint64
	buffers  uint64
}

// newFileOutput opens the first file of an f: output. The file exists
// (empty) from now on; the hello goes in with the first buffer.
func newFileOutput(sp IfcSpec, e env) (outputIFC, error) {
	return newFileOutputClock(sp, e, time.Now)
}

func newFileOutputClock(sp IfcSpec, e env, now func() time.Time) (*fileOutput, error) {
	o := &fileOutput{log: e.log, now: now, buffered: sp.Buffer}
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
	o.buf = make([]byte, FileBufferHeaderSize, FileBufferHeaderSize+MaxPayload)
	o.start = o.roundedNow()
	if err := o.open(); err != nil {
		return nil, err
	}
	return o, nil
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
		return nil
	}
	if h == o.hello {
		return nil
	}
	// Data buffered under the old format belongs in the old file.
	if err := o.writeBuffer(); err != nil {
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
func (o *fileOutput) sendFixed(_ context.Context, data []byte, size int) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for ; len(data) >= size; data = data[size:] {
		if err := o.sendLocked(data[:size]); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (o *fileOutput) sendLocked(msg []byte) error {
	if o.f == nil {
		return fmt.Errorf("%w: file output %q is closed", ErrIO, o.base)
	}
	if len(msg)+2 > MaxPayload {
		return fmt.Errorf("%w: file output %q: message of %d bytes does not fit a %d-byte buffer", ErrBadParams, o.base, len(msg), MaxPayload)
	}
	if len(o.buf)+2+len(msg) > FileBufferHeaderSize+MaxPayload {
		if err := o.writeBuffer(); err != nil {
			return err
		}
	}
	o.buf = AppendMessage(o.buf, msg)
	o.messages++
	if !o.buffered {
		return o.writeBuffer()
	}
	return nil
}

// writeBuffer writes the active buffer, rotating first when due and
// putting the hello at the head of a fresh file.
func (o *fileOutput) writeBuffer() error {
	if len(o.buf) == FileBufferHeaderSize {
		return nil
	}
	if o.f == nil {
		return fmt.Errorf("%w: file output %q is closed", ErrIO, o.base)
	}
	if !o.stdout {
		switch {
		case o.rotTime > 0 && !o.now().Before(o.start.Add(o.rotTime)):
			if err := o.nextFile(true); err != nil {
				return err
			}
		case o.rotSize > 0 && o.pos >= o.rotSize:
			if err := o.nextFile(false); err != nil {
				return err
			}
		}
	}
	if !o.wroteHdr {
		var hb [HelloHeaderSize + 512]byte
		h := AppendHello(hb[:0], o.hello)
		if _, err := o.f.Write(h); err != nil {
			return fmt.Errorf("%w: file output: writing hello to %q: %w", ErrIO, o.name, err)
		}
		o.pos += int64(len(h))
		o.wroteHdr = true
	}
	binary.BigEndian.PutUint32(o.buf[:FileBufferHeaderSize], uint32(len(o.buf)-FileBufferHeaderSize))
	n, err := o.f.Write(o.buf)
	o.pos += int64(n)
	o.buf = o.buf[:FileBufferHeaderSize]
	if err != nil {
		return fmt.Errorf("%w: file output: writing buffer to %q: %w", ErrIO, o.name, err)
	}
	o.buffers++
	return nil
}

func (o *fileOutput) flush(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.writeBuffer()
}

func (o *fileOutput) close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.writeBuffer()
	return errors.Join(err, o.closeFile())
}

func (o *fileOutput) stats() OutputStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return OutputStats{Kind: KindFile, ID: o.name, SentMessages: o.messages, Buffers: o.buffers}
}
