package nfdump

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// Worker counts (File.SetWorkers).
const (
	// defaultMaxWorkers bounds the default pool: GOMAXPROCS, at most this.
	defaultMaxWorkers = 4
	// MaxWorkers bounds SetWorkers. At most workers+1 blocks are in flight
	// (each up to 5 MiB stored and 5 MiB decompressed), so it also bounds
	// the memory an iteration holds.
	MaxWorkers = 32
)

// SetWorkers sets how many goroutines decompress (and, for MapRecords,
// decode) data blocks in iterations started after the call. 0, the
// default, is GOMAXPROCS but at most 4. 1 is serial: the goroutine calling
// Next reads, decompresses and decodes each block itself and the iteration
// starts no goroutines. n > 1 starts n workers (at most MaxWorkers) that
// take turns reading the next block and then decompress it, with at most
// n+1 blocks in flight; records still come in file order (an uncompressed
// file read with Records needs no decompression: one worker reads ahead
// of the consumer). Records, errors and their positions do not depend on
// n.
func (f *File) SetWorkers(n int) { f.workers = n }

// workerCount resolves SetWorkers' value.
func (f *File) workerCount() int {
	n := f.workers
	if n <= 0 {
		n = min(runtime.GOMAXPROCS(0), defaultMaxWorkers)
	}
	return min(max(n, 1), MaxWorkers)
}

// jobPool recycles blockJobs with their read and decompression buffers
// across iterations and files: a process replaying many files (nfreader
// FILE..., a followed directory) allocates them once.
var jobPool sync.Pool

func getJob() *blockJob {
	job, _ := jobPool.Get().(*blockJob)
	if job == nil {
		job = &blockJob{ready: make(chan struct{}, 1)}
	}
	return job
}

// blockJob is one data block travelling through the pipeline. A worker
// reads it into raw, queues it, fills data/err and signals ready; the
// consumer walks the records and hands the job back to the free list.
type blockJob struct {
	index  int
	offset int64
	hdr    blockHeader
	hb     [blockHeaderSize]byte // hdr as stored
	raw    []byte                // payload as stored
	out    []byte                // decompression buffer
	data   []byte                // decompressed payload (raw or out)
	err    error                 // read or decompression error; ends the iteration
	// ready carries one token per trip through the pipeline, sent when
	// data/err are set and taken by the consumer (or, for jobs it never
	// took, by finish), so the channel is made once per job.
	ready chan struct{}

	// MapRecords: a worker maps the block's flow records into mapped
	// (nMapped of them, then mapErr if a record was bad) unless the block
	// needs the consumer's state (1.6 records and extension maps):
	// sequential is then set and the consumer steps through it in order.
	mapped     []byte
	nMapped    int
	mapErr     error
	sequential bool
}

// blockSource reads the data blocks of a File in order.
type blockSource struct {
	f     *File
	limit int64 // end of the data blocks
	off   int64 // next block
	index int
	ended bool // a read fault was handed out
}

func newBlockSource(f *File) blockSource {
	limit := f.size
	if f.h.layout == LayoutV2 && f.h.appendixBlks > 0 {
		limit = f.h.offAppendix
	}
	return blockSource{f: f, limit: limit, off: f.h.dataStart}
}

// next reads the next data block into job and reports whether there was
// one: exactly NumBlocks, or up to EOF for a file still being written. A
// fault (truncated file, bad block header, I/O error) is left in job.err
// and is the last block handed out.
func (s *blockSource) next(job *blockJob) bool {
	f := s.f
	if s.ended || (f.h.numBlocks > 0 && uint32(s.index) >= f.h.numBlocks) || (f.h.numBlocks == 0 && s.off >= s.limit) {
		return false
	}
	i, off := s.index, s.off
	job.index, job.offset, job.err, job.data = i, off, nil, nil
	job.mapped, job.nMapped, job.mapErr, job.sequential = job.mapped[:0], 0, nil, false
	h, raw, err := f.readBlock(off, s.limit, &job.hb, job.raw)
	job.hdr = h
	if raw != nil {
		job.raw = raw
	}
	if err != nil {
		if off >= s.limit && f.h.numBlocks > 0 {
			err = f.errorf(off, fmt.Sprintf("block %d", i), fmt.Errorf("%w: file ends after %d of %d data blocks", ErrFormat, i, f.h.numBlocks))
		}
		job.err = err
		s.ended = true
		return true
	}
	s.index++
	s.off += blockHeaderSize + int64(h.size)
	return true
}

// Iterator walks the flow records of a File in file order.
type Iterator struct {
	f      *File
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// serial (SetWorkers(1)): job is the only block, read and processed
	// by Next with dec, mw and mapper. Workers read src under readMu.
	serial bool
	src    blockSource
	job    *blockJob
	dec    decompressor
	mw     mapWorker
	mapper Mapper

	results chan *blockJob // blocks in file order
	free    chan *blockJob // recycled jobs and their buffers
	readMu  sync.Mutex     // src and srcDone, and the order of results
	srcDone bool           // results is closed

	cur  *blockJob
	pos  int    // next record offset in cur.data
	left uint32 // records left in cur

	rec    Record
	shapes v3Shapes // layouts of recent V3 records (fast path)

	newMapper func() Mapper // non-nil for MapRecords
	err       error
	done      bool
	maps      map[uint16]*extMap
	exporters map[uint16]*Exporter
	blocks    int
}

func newIterator(ctx context.Context, f *File, newMapper func() Mapper) *Iterator {
	ctx, cancel := context.WithCancel(ctx)
	it := &Iterator{
		f: f, ctx: ctx, cancel: cancel, newMapper: newMapper,
		src:       newBlockSource(f),
		maps:      make(map[uint16]*extMap),
		exporters: make(map[uint16]*Exporter),
	}
	workers := f.workerCount()
	if workers == 1 {
		it.serial, it.job = true, getJob()
		it.dec = decompressor{method: f.h.compression}
		if newMapper != nil {
			it.mapper = newMapper()
		}
		return it
	}
	if f.h.compression == CompressNone && newMapper == nil {
		// Nothing to decompress or map: one worker reads ahead while the
		// consumer decodes.
		workers = 1
	}
	depth := workers + 1
	it.results = make(chan *blockJob, depth)
	it.free = make(chan *blockJob, depth)
	for i := 0; i < depth; i++ {
		it.free <- getJob()
	}
	it.wg.Add(workers)
	for i := 0; i < workers; i++ {
		go it.work()
	}
	return it
}

// direct reports whether job needs no worker: a block type without flow
// records, or an uncompressed block whose records the consumer decodes.
// It sets job.data for the latter.
func (it *Iterator) direct(job *blockJob) bool {
	flows := job.hdr.typ == blockTypeV1 || job.hdr.typ == blockTypeV3
	if flows && (it.f.h.compression != CompressNone || it.newMapper != nil) {
		return false
	}
	if flows {
		job.data = job.raw
	}
	return true
}

// process decompresses a block of flow records and, for MapRecords, maps
// them: a worker's part of the pipeline, or Next's when serial.
func (it *Iterator) process(job *blockJob, d *decompressor, w *mapWorker, m Mapper) {
	data, buf, err := d.expand(job.out, job.raw)
	job.out = buf
	if err != nil {
		job.err = it.f.errorf(job.offset, fmt.Sprintf("block %d (%v)", job.index, d.method), fmt.Errorf("%w: %w", ErrFormat, err))
		return
	}
	job.data = data
	if m != nil {
		w.mapBlock(it, job, m)
	}
}

// work is a pipeline worker: it takes a free job, reads the next block
// into it and queues it for the consumer (both under readMu, so blocks are
// read and queued in file order), then decompresses it and, for
// MapRecords, maps its records. Reading in the worker keeps the block in
// the cache of the core that decompresses it. No send blocks: results and
// each job's ready hold as many entries as there are jobs.
func (it *Iterator) work() {
	defer it.wg.Done()
	d := decompressor{method: it.f.h.compression}
	defer d.close()
	var m Mapper
	var w mapWorker
	if it.newMapper != nil {
		m = it.newMapper()
	}
	for {
		var job *blockJob
		select {
		case job = <-it.free:
		case <-it.ctx.Done():
			return
		}
		it.readMu.Lock()
		if it.srcDone || !it.src.next(job) {
			if !it.srcDone {
				it.srcDone = true
				close(it.results)
			}
			it.readMu.Unlock()
			it.free <- job // room: it came from there
			return
		}
		it.results <- job
		it.readMu.Unlock()
		if job.err == nil && !it.direct(job) {
			it.process(job, &d, &w, m)
		}
		job.ready <- struct{}{}
	}
}

// Next advances to the next flow record. It returns false at the end of the
// file, on error (see Err) or when the context is cancelled.
func (it *Iterator) Next() bool {
	if it.done {
		return false
	}
	for {
		if it.cur != nil && it.left > 0 {
			ok, err := it.step()
			if err != nil {
				it.fail(err)
				return false
			}
			if ok {
				return true
			}
			continue
		}
		if !it.nextBlock() {
			return false
		}
	}
}

// nextBlock recycles the current block and makes the next one current,
// waiting for its decompression. At the end, on error or cancellation it
// ends the iteration and returns false.
func (it *Iterator) nextBlock() bool {
	if it.cur != nil && !it.serial {
		it.free <- it.cur
	}
	it.cur = nil
	// A select with a block ready and ctx done picks either: check first,
	// so a cancelled iteration ends at this block boundary.
	if err := it.ctx.Err(); err != nil {
		it.fail(err)
		return false
	}
	job := it.receive()
	if job == nil {
		return false
	}
	if job.err != nil {
		it.fail(job.err)
		return false
	}
	it.blocks++
	it.cur, it.pos, it.left = job, 0, job.hdr.numRecords
	if job.data == nil { // block type without flow records
		it.left = 0
	}
	return true
}

// receive returns the next block, decompressed (job.err says if that
// failed), or nil after ending the iteration: at the end of the blocks or
// when ctx ends.
func (it *Iterator) receive() *blockJob {
	if it.serial {
		job := it.job
		if !it.src.next(job) {
			it.finish()
			return nil
		}
		if job.err == nil && !it.direct(job) {
			it.process(job, &it.dec, &it.mw, it.mapper)
		}
		return job
	}
	var job *blockJob
	var ok bool
	select {
	case job, ok = <-it.results:
	case <-it.ctx.Done():
		it.fail(it.ctx.Err())
		return nil
	}
	if !ok {
		it.finish()
		return nil
	}
	select {
	case <-job.ready:
	case <-it.ctx.Done():
		it.cur = job // for finish to recycle
		it.fail(it.ctx.Err())
		return nil
	}
	return job
}

// step decodes the next record of the current block; it reports whether
// the record was a flow record (now in it.rec).
func (it *Iterator) step() (bool, error) {
	job := it.cur
	typ, size, err := recordBounds(job.data, it.pos)
	if err != nil {
		return false, it.recordError(err, 0)
	}
	b := job.data[it.pos : it.pos+size]
	flow := false
	var roff int
	switch typ {
	case recV3:
		roff, err = it.shapes.decode(b, &it.rec)
		flow = err == nil
	case recCommonV1:
		roff, err = decodeV1(b, it.maps, &it.rec)
		flow = err == nil
	case recExtensionMap:
		err = parseExtMap(b, it.maps)
	case recExporterInfo:
		var e Exporter
		if e, err = parseExporterInfo(b); err == nil {
			it.setExporter(e)
		}
	case recExporterStat:
		err = parseExporterStats(b, func(s exporterStat) {
			e := it.exporter(uint16(s.sysID))
			e.SequenceFailures, e.Packets, e.Flows = uint64(s.seqFailures), s.packets, s.flows
		})
	case recSampler:
		var id uint16
		var s Sampler
		if id, s, err = parseSampler(b); err == nil {
			it.exporter(id).Sampler = &s
		}
	}
	if err != nil {
		return false, it.recordError(err, roff)
	}
	it.pos += size
	it.left--
	return flow, nil
}

func (it *Iterator) recordError(err error, roff int) error {
	return it.f.recordError(it.cur, it.left, it.pos, roff, err)
}

// recordError names the block, the record (by its number in the block;
// left records including it were still to come) and its payload offset.
func (f *File) recordError(job *blockJob, left uint32, pos, roff int, err error) error {
	detail := fmt.Sprintf("block %d, record %d at payload byte %d", job.index, job.hdr.numRecords-left, pos+roff)
	off := job.offset
	if f.h.compression == CompressNone {
		off += blockHeaderSize + int64(pos+roff) // exact file offset
	}
	return f.errorf(off, detail, err)
}

func (it *Iterator) exporter(id uint16) *Exporter {
	e := it.exporters[id]
	if e == nil {
		e = &Exporter{SysID: id}
		it.exporters[id] = e
	}
	return e
}

func (it *Iterator) setExporter(e Exporter) {
	old := it.exporters[e.SysID]
	if old != nil {
		e.Sampler = old.Sampler
		if e.Flows == 0 {
			e.SequenceFailures, e.Packets, e.Flows = old.SequenceFailures, old.Packets, old.Flows
		}
		*old = e
		return
	}
	it.exporters[e.SysID] = &e
}

// putJob returns a job to jobPool without references into the last file.
func putJob(job *blockJob) {
	job.data, job.err = nil, nil
	jobPool.Put(job)
}

// Record returns the current flow record. It is reused: valid until Next.
func (it *Iterator) Record() *Record { return &it.rec }

// Err returns the error that ended the iteration, nil at a clean end.
func (it *Iterator) Err() error { return it.err }

// Exporter returns what the file said so far about the exporter with the
// given sysid (Record.ExporterID). Exporter records precede the flows that
// use them, so it is complete for the current record; statistics arrive
// at the end of the file.
func (it *Iterator) Exporter(sysID uint16) (*Exporter, bool) {
	e, ok := it.exporters[sysID]
	return e, ok
}

// Exporters returns all exporters seen so far, keyed by sysid.
func (it *Iterator) Exporters() map[uint16]*Exporter { return it.exporters }

// Blocks returns the number of data blocks delivered so far.
func (it *Iterator) Blocks() int { return it.blocks }

// Close stops the iteration and waits for its goroutines to end.
func (it *Iterator) Close() error {
	if !it.done {
		it.finish()
	}
	return nil
}

func (it *Iterator) fail(err error) {
	it.err = err
	it.finish()
}

func (it *Iterator) finish() {
	it.done = true
	it.cancel()
	cur := it.cur
	it.cur = nil
	if it.serial { // cur, if set, is it.job
		it.dec.close()
		if it.job != nil {
			putJob(it.job)
			it.job = nil
		}
		return
	}
	// The workers end at the cancellation (no send of theirs blocks);
	// then every job is in results, in free or the current one: hand
	// their buffers back to the pool for the next iteration.
	it.wg.Wait()
	if !it.srcDone {
		it.srcDone = true
		close(it.results)
	}
	var drained []*blockJob
	for job := range it.results {
		drained = append(drained, job)
	}
	if cur != nil {
		drained = append(drained, cur)
	}
	for _, job := range drained {
		select {
		case <-job.ready: // its token, if the consumer did not take it
		default:
		}
		putJob(job)
	}
	for {
		select {
		case job := <-it.free:
			putJob(job)
		default:
			return
		}
	}
}
