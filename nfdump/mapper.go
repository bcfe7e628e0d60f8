package nfdump

import "context"

// A Mapper turns flow records into output bytes (UniRec records, say)
// inside the decompression workers, so that decoding and converting the
// records of different blocks run in parallel. Each worker owns the Mapper
// newMapper gave it: Map needs no locking. Map appends the output for r to
// out and returns the extended slice; it may append nothing (a filtered
// record). It must not keep r, which is reused.
type Mapper interface {
	Map(out []byte, r *Record) []byte
}

// MapRecords is Records with the per-record work moved into the
// decompression workers: each worker decodes the flow records of the
// blocks it decompressed and hands them to its own Mapper, and the
// BlockIterator yields every block's output in file order. The output is
// what a single Mapper fed by Records would produce, block by block.
//
// Exporter, sampler and statistics records are checked but not collected
// (use Records when the output depends on them). Blocks whose records need
// state from earlier blocks (1.6 common records and their extension maps)
// are decoded and mapped in file order by the goroutine calling Next.
func (f *File) MapRecords(ctx context.Context, newMapper func() Mapper) *BlockIterator {
	return &BlockIterator{it: newIterator(ctx, f, newMapper), m: newMapper()}
}

// BlockIterator walks the mapped output of a file block by block.
type BlockIterator struct {
	it      *Iterator
	m       Mapper // for blocks mapped in order by Next
	seq     []byte // output of such blocks
	out     []byte
	records int
	pending error // a record error, reported after the output before it
}

// Next advances to the next data block. It returns false at the end of the
// file, on error (see Err) or when the context is cancelled.
func (b *BlockIterator) Next() bool {
	it := b.it
	if b.pending != nil {
		it.fail(b.pending)
		b.pending = nil
	}
	if it.done {
		return false
	}
	for {
		if !it.nextBlock() {
			return false
		}
		job := it.cur
		if job.data == nil {
			continue // a block type without flow records
		}
		if !job.sequential {
			b.out, b.records, b.pending = job.mapped, job.nMapped, job.mapErr
			return true
		}
		// In file order, with the Iterator's extension maps.
		b.seq, b.records = b.seq[:0], 0
		for it.left > 0 {
			flow, err := it.step()
			if err != nil {
				b.pending = err
				break
			}
			if flow {
				b.seq = b.m.Map(b.seq, &it.rec)
				b.records++
			}
		}
		b.out = b.seq
		return true
	}
}

// Output returns the current block's mapped output, valid until Next.
func (b *BlockIterator) Output() []byte { return b.out }

// Records returns how many flow records of the current block were mapped
// (before a bad record, if the block has one).
func (b *BlockIterator) Records() int { return b.records }

// Blocks returns the number of data blocks delivered so far.
func (b *BlockIterator) Blocks() int { return b.it.blocks }

// Err returns the error that ended the iteration, nil at a clean end. A
// bad record is reported by the Next after the block holding it, whose
// output covers the records before it.
func (b *BlockIterator) Err() error { return b.it.err }

// Close stops the iteration and waits for its goroutines to end.
func (b *BlockIterator) Close() error { return b.it.Close() }

// mapWorker is a worker's decoding state for MapRecords.
type mapWorker struct {
	rec    Record
	shapes v3Shapes
}

// mapBlock maps the flow records of a decompressed V3 block into
// job.mapped. A block holding 1.6 records or extension maps is left to the
// consumer (job.sequential); a bad record ends the block with job.mapErr.
func (w *mapWorker) mapBlock(it *Iterator, job *blockJob, m Mapper) {
	if job.hdr.typ != blockTypeV3 {
		job.sequential = true
		return
	}
	data, out, n := job.data, job.mapped[:0], 0
	pos := 0
	for left := job.hdr.numRecords; left > 0; left-- {
		typ, size, err := recordBounds(data, pos)
		if err != nil {
			job.mapErr = it.f.recordError(job, left, pos, 0, err)
			break
		}
		b := data[pos : pos+size]
		roff := 0
		switch typ {
		case recV3:
			if roff, err = w.shapes.decode(b, &w.rec); err == nil {
				out = m.Map(out, &w.rec)
				n++
			}
		case recCommonV1, recExtensionMap:
			job.sequential = true
			job.mapped = out[:0]
			return
		case recExporterInfo:
			_, err = parseExporterInfo(b)
		case recExporterStat:
			err = parseExporterStats(b, func(exporterStat) {})
		case recSampler:
			_, _, err = parseSampler(b)
		}
		if err != nil {
			job.mapErr = it.f.recordError(job, left, pos, roff, err)
			break
		}
		pos += size
	}
	job.mapped, job.nMapped = out, n
}
