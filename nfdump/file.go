package nfdump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Error describes a fault at a byte offset of a named file. It wraps the
// underlying cause (ErrFormat for malformed contents, or an I/O error).
type Error struct {
	File   string
	Offset int64 // absolute file offset of the faulty header, block or record
	Detail string
	Err    error
}

func (e *Error) Error() string {
	// The cause's own "nfdump: " prefix (ErrFormat) would repeat ours.
	cause := strings.TrimPrefix(fmt.Sprint(e.Err), "nfdump: ")
	if e.Detail != "" {
		return fmt.Sprintf("nfdump: %s: offset %d: %s: %s", e.File, e.Offset, e.Detail, cause)
	}
	return fmt.Sprintf("nfdump: %s: offset %d: %s", e.File, e.Offset, cause)
}

func (e *Error) Unwrap() error { return e.Err }

// File is an opened nfdump file: its header and appendix are parsed, the
// data blocks are read by Records.
type File struct {
	r      io.ReaderAt
	size   int64
	name   string
	h      header
	ident  string
	stats  Stats
	closer io.Closer

	workers int // SetWorkers
}

// Open opens and parses the header and appendix of the nfdump file at path.
func Open(path string) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nfdump: %w", err)
	}
	st, err := osf.Stat()
	if err != nil {
		osf.Close()
		return nil, fmt.Errorf("nfdump: %w", err)
	}
	f, err := NewReader(osf, st.Size(), path)
	if err != nil {
		osf.Close()
		return nil, err
	}
	f.closer = osf
	return f, nil
}

// NewReader parses the header and appendix of an nfdump file of the given
// size read through r; name is used in error messages.
func NewReader(r io.ReaderAt, size int64, name string) (*File, error) {
	f := &File{r: r, size: size, name: name}
	n := int64(dataStartV1)
	if size < n {
		n = size
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, f.errorf(0, "reading file header", err)
	}
	h, err := parseHeader(buf, size)
	if err != nil {
		return nil, f.errorf(0, "", err)
	}
	f.h = h
	f.ident, f.stats = h.ident, h.stats
	if h.layout == LayoutV2 && h.appendixBlks > 0 {
		if err := f.readAppendix(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *File) errorf(off int64, detail string, err error) error {
	return &Error{File: f.name, Offset: off, Detail: detail, Err: err}
}

// Close closes the underlying file if Open opened it.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// Name returns the name given to Open or NewReader.
func (f *File) Name() string { return f.name }

// Ident returns the file's ident string ("none" unless nfcapd -I was used).
func (f *File) Ident() string { return f.ident }

// Stats returns the statistics record stored in the file.
func (f *File) Stats() Stats { return f.stats }

// Layout returns LayoutV1 (nfdump 1.6) or LayoutV2 (nfdump ≥ 1.7).
func (f *File) Layout() int { return f.h.layout }

// Compression returns the block compression of the file.
func (f *File) Compression() Compression { return f.h.compression }

// NumBlocks returns the number of data blocks the header declares (0 for a
// file still being written; its blocks are then read up to EOF).
func (f *File) NumBlocks() int { return int(f.h.numBlocks) }

// Created returns the creation time stored in a LayoutV2 header (Unix seconds).
func (f *File) Created() int64 { return f.h.created }

// readBlock reads the block header at off into hb and the payload into raw
// (grown as needed) and returns the header and the payload. hb is the
// caller's so that reading a block allocates nothing (a local array would
// escape through io.ReaderAt).
func (f *File) readBlock(off, limit int64, hb *[blockHeaderSize]byte, raw []byte) (blockHeader, []byte, error) {
	if off+blockHeaderSize > limit {
		return blockHeader{}, nil, f.errorf(off, "block header", fmt.Errorf("%w: truncated: %d bytes left, need %d", ErrFormat, limit-off, blockHeaderSize))
	}
	if _, err := f.r.ReadAt(hb[:], off); err != nil {
		return blockHeader{}, nil, f.errorf(off, "reading block header", err)
	}
	h := parseBlockHeader(hb[:])
	if err := h.check(); err != nil {
		return h, nil, f.errorf(off, "block header", err)
	}
	end := off + blockHeaderSize + int64(h.size)
	if end > limit {
		return h, nil, f.errorf(off, "block header", fmt.Errorf("%w: block of %d bytes ends at %d, past end of data at %d", ErrFormat, h.size, end, limit))
	}
	if cap(raw) < int(h.size) {
		raw = make([]byte, h.size, h.size+h.size/4)
	}
	raw = raw[:h.size]
	if _, err := f.r.ReadAt(raw, off+blockHeaderSize); err != nil {
		return h, nil, f.errorf(off, "reading block payload", err)
	}
	return h, raw, nil
}

func (f *File) readAppendix() error {
	off := f.h.offAppendix
	d := decompressor{method: f.h.compression}
	defer d.close()
	var out []byte
	for i := 0; i < f.h.appendixBlks; i++ {
		var hb [blockHeaderSize]byte
		h, raw, err := f.readBlock(off, f.size, &hb, nil)
		if err != nil {
			return fmt.Errorf("appendix: %w", err)
		}
		var data []byte
		data, out, err = d.expand(out, raw)
		if err != nil {
			return f.errorf(off, "appendix block", fmt.Errorf("%w: %w", ErrFormat, err))
		}
		err = walkRecords(data, h.numRecords, func(typ uint16, rec []byte) error {
			switch typ {
			case recIdent:
				f.ident = cString(rec[4:])
			case recStat:
				if len(rec) < 4+statV2Size {
					return fmt.Errorf("%w: stat record of %d bytes, need %d", ErrFormat, len(rec), 4+statV2Size)
				}
				f.stats = parseStatV2(rec[4:])
			}
			return nil
		})
		if err != nil {
			return f.errorf(off, "appendix block", err)
		}
		off += blockHeaderSize + int64(h.size)
	}
	return nil
}

// walkRecords calls fn for each of the n records in a decompressed block.
// It is used for small blocks (the appendix); the Iterator walks data blocks
// record by record itself.
func walkRecords(data []byte, n uint32, fn func(typ uint16, rec []byte) error) error {
	off := 0
	for i := uint32(0); i < n; i++ {
		typ, size, err := recordBounds(data, off)
		if err != nil {
			return fmt.Errorf("record %d at payload byte %d: %w", i, off, err)
		}
		if err := fn(typ, data[off:off+size]); err != nil {
			return fmt.Errorf("record %d at payload byte %d: %w", i, off, err)
		}
		off += size
	}
	return nil
}

// recordBounds validates the record header at off and returns its type and size.
func recordBounds(data []byte, off int) (uint16, int, error) {
	if off+4 > len(data) {
		return 0, 0, fmt.Errorf("%w: record header past block end (%d bytes)", ErrFormat, len(data))
	}
	typ := le16(data[off:])
	size := int(le16(data[off+2:]))
	if size < 4 {
		return typ, 0, fmt.Errorf("%w: record type %d has size %d < 4", ErrFormat, typ, size)
	}
	if off+size > len(data) {
		return typ, 0, fmt.Errorf("%w: record type %d of %d bytes overruns block of %d bytes", ErrFormat, typ, size, len(data))
	}
	return typ, size, nil
}

// Records returns an iterator over the flow records of the file. The
// iterator's goroutines end when iteration finishes, when ctx is cancelled
// or when Iterator.Close is called; call Close when stopping early.
func (f *File) Records(ctx context.Context) *Iterator {
	return newIterator(ctx, f, nil)
}
