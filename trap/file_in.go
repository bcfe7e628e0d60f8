package trap

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// fileInput is the f: input interface: it reads .trapcap files one after
// the other (libtrap ifc_file.c: file_recv). Every file starts with its own
// hello, which is handed up for a fresh negotiation. After the last file
// it returns one buffer holding a zero-length message (end of stream), and
// ErrTerminated from then on.
type fileInput struct {
	log   *zap.Logger
	raw   string
	files []string

	// mu guards name and f against stats and close, which may run in
	// other goroutines; every other field belongs to the recv goroutine.
	mu     sync.Mutex
	closed bool // set by close: recv ends, no further file is opened
	next   int  // index into files of the next file to open
	name   string
	f      *os.File
	r      *bufio.Reader
	off    int64 // offset in the current file
	newHdr bool  // the next buffer is the first of the current file
	done   bool  // the EOS buffer was returned

	hello   Hello
	hdr     [FileBufferHeaderSize]byte
	payload []byte
	buffers atomic.Uint64
}

// eosPayload is the buffer returned after the last file: one message of
// length 0.
var eosPayload = [2]byte{0, 0}

// newFileInput expands the f: pattern the way libtrap's wordexp does:
// space-separated words, a leading ~, and globs, in order.
func newFileInput(sp IfcSpec, e env) (inputIFC, error) {
	log := e.log
	if log == nil {
		log = zap.NewNop()
	}
	pattern := strings.Join(sp.Params, ":")
	files, err := expandPattern(pattern)
	if err != nil {
		return nil, fmt.Errorf("file input %q: %w", sp.Raw, err)
	}
	return &fileInput{
		log: log, raw: sp.Raw, files: files,
		r:       bufio.NewReaderSize(nil, 64<<10),
		payload: make([]byte, MaxPayload),
	}, nil
}

func expandPattern(pattern string) ([]string, error) {
	words := strings.Fields(pattern)
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: no file name given (f:PATTERN)", ErrBadParams)
	}
	var out []string
	for _, w := range words {
		if w == "~" || strings.HasPrefix(w, "~/") {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("%w: expanding %q: %w", ErrBadParams, w, err)
			}
			w = home + w[1:]
		}
		if !strings.ContainsAny(w, "*?[") {
			out = append(out, w)
			continue
		}
		m, err := filepath.Glob(w)
		if err != nil {
			return nil, fmt.Errorf("%w: bad pattern %q: %w", ErrBadParams, w, err)
		}
		if len(m) == 0 {
			// wordexp keeps a pattern without matches as the word itself.
			out = append(out, w)
			continue
		}
		out = append(out, m...)
	}
	return out, nil
}

func (fi *fileInput) recv(ctx context.Context, _ Timeout) ([]byte, *Hello, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("%w: file input %q: %w", ErrTerminated, fi.raw, err)
		}
		if fi.isClosed() {
			fi.closeFile()
			return nil, nil, fmt.Errorf("%w: file input %q is closed", ErrIO, fi.raw)
		}
		if fi.f == nil {
			if fi.next >= len(fi.files) {
				if !fi.done {
					fi.done = true
					return eosPayload[:], nil, nil
				}
				return nil, nil, fmt.Errorf("%w: file input %q: all files read: %w", ErrTerminated, fi.raw, io.EOF)
			}
			if err := fi.openNext(); err != nil {
				return nil, nil, err
			}
			continue
		}
		p, err := fi.readBuffer()
		if err == io.EOF {
			fi.closeFile()
			continue
		}
		if err != nil {
			fi.closeFile()
			return nil, nil, err
		}
		fi.buffers.Add(1)
		if fi.newHdr {
			fi.newHdr = false
			return p, &fi.hello, nil
		}
		return p, nil, nil
	}
}

// openNext opens the next file and reads its hello. An empty file (an
// output that never sent anything) is skipped.
func (fi *fileInput) openNext() error {
	name := fi.files[fi.next]
	fi.next++
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("%w: file input %q: %w", ErrIO, fi.raw, err)
	}
	fi.mu.Lock()
	if fi.closed {
		fi.mu.Unlock()
		f.Close()
		return fmt.Errorf("%w: file input %q is closed", ErrIO, fi.raw)
	}
	fi.f, fi.name = f, name
	fi.mu.Unlock()
	fi.r.Reset(f)
	fi.off = 0
	if _, err := fi.r.Peek(1); err == io.EOF {
		fi.log.Warn("trap file input: empty file skipped", zap.String("file", name))
		fi.closeFile()
		return nil
	}
	h, err := ReadHello(fi.r)
	if err != nil {
		fi.closeFile()
		return fmt.Errorf("%w: file input: %s at offset 0: %w", ErrIO, name, err)
	}
	fi.hello = h
	fi.off = HelloHeaderSize + int64(len(h.Spec))
	fi.newHdr = true
	fi.log.Debug("trap file input opened", zap.String("file", name),
		zap.Stringer("format", h.Format), zap.String("spec", h.Spec))
	return nil
}

// readBuffer reads one buffer. io.EOF means the file ended cleanly at a
// buffer boundary. A payload cut short is logged and returned as it is.
func (fi *fileInput) readBuffer() ([]byte, error) {
	n, err := io.ReadFull(fi.r, fi.hdr[:])
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("%w: file input: %s at offset %d: truncated buffer header (%d of %d bytes): %w",
			ErrIO, fi.name, fi.off, n, FileBufferHeaderSize, err)
	}
	p := binary.BigEndian.Uint32(fi.hdr[:])
	if p > MaxPayload {
		return nil, fmt.Errorf("%w: file input: %s at offset %d: buffer of %d bytes exceeds %d",
			ErrIO, fi.name, fi.off, p, MaxPayload)
	}
	fi.off += FileBufferHeaderSize
	n, err = io.ReadFull(fi.r, fi.payload[:p])
	fi.off += int64(n)
	if err != nil {
		if !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
			return nil, fmt.Errorf("%w: file input: %s at offset %d: %w", ErrIO, fi.name, fi.off, err)
		}
		fi.log.Warn("trap file input: short read of a buffer, returning the partial buffer",
			zap.String("file", fi.name), zap.Int64("offset", fi.off), zap.Uint32("want", p), zap.Int("got", n))
	}
	return fi.payload[:n], nil
}

func (fi *fileInput) closeFile() {
	fi.mu.Lock()
	f := fi.f
	fi.f = nil
	fi.mu.Unlock()
	if f != nil && f != os.Stdin {
		f.Close()
	}
	fi.r.Reset(nil)
}

// reject moves on to the next file.
func (fi *fileInput) reject() { fi.closeFile() }

func (fi *fileInput) stats() InputStats {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return InputStats{Kind: KindFile, ID: fi.name, Connected: fi.f != nil, Buffers: fi.buffers.Load()}
}

func (fi *fileInput) isClosed() bool {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.closed
}

// close may run while recv reads in another goroutine: it only closes the
// open file, which makes that read fail, and leaves the reader's state to
// recv.
func (fi *fileInput) close() error {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.closed = true
	if fi.f != nil && fi.f != os.Stdin {
		fi.f.Close()
	}
	return nil
}
