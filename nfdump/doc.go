// Package nfdump reads the binary flow files written by nfcapd, nfpcapd and
// nfdump: the 1.6.x layout (LAYOUT_VERSION_1: common records + extension
// maps) and the 1.7.x+ layout (LAYOUT_VERSION_2: V3 records made of
// elements), uncompressed or compressed with LZO, BZ2, LZ4 or ZSTD.
//
// Open/NewReader parse the file header and the appendix (ident and statistics)
// without scanning the data blocks. File.Records returns an Iterator that
// decompresses blocks in parallel on a bounded worker pool while delivering
// flow records in file order (File.SetWorkers sizes the pool; 1 reads
// serially in the caller's goroutine, and records, errors and error
// positions are the same for every size); the Record it yields is reused, so iterating
// allocates nothing per record. Exporter, exporter-statistics and sampler
// records met on the way are available from the Iterator. File.MapRecords
// moves the per-record work into the workers too: each decodes the records
// of its blocks and hands them to its own Mapper (a converter, say), and a
// BlockIterator yields every block's output in file order.
//
// Follower (follow.go, follow_state.go) turns files, globs and directories
// into a stream of files read exactly once: it can follow a directory as
// nfcapd rotates nfcapd.current.* into nfcapd.YYYYMMDDhhmm, and a small
// JSON state file, replaced atomically, remembers the files read (and the
// position in an interrupted one) across restarts. It polls instead of
// using file-system notifications, which work neither on every network
// file system nor for files already present at start.
//
// The format is described in the project's spec/nfdump-format.md. Files:
// header.go (file headers, statistics), block.go (block headers and
// decompression), record.go (the flat Record), v3.go (1.7 V3 records),
// v3shape.go (a cache of recent V3 record layouts: a record laid out like
// one of the last two is read at known offsets instead of by walking its
// element list), v1.go (1.6 common records), exporter.go
// (exporter/sampler records), iterator.go (the ordered parallel pipeline),
// mapper.go (MapRecords). The LZO1X decoder lives in
// the lzo subpackage: it is hand-written because no maintained pure-Go LZO
// library is available (the existing ones are unmaintained and not hardened
// against corrupt input; cgo bindings to liblzo2 would break pure-Go
// builds). The filter subpackage compiles nfdump filter expressions.
//
// Reading follows nfdump 1.7.1: exactly NumBlocks data blocks after the
// header; a file still being written (NumBlocks 0, no appendix) is read up
// to EOF. A truncated file whose appendix is gone still opens, and every
// record before the fault is delivered before Iterator.Err reports the
// file name and byte offset of the fault.
//
// Known differences from nfdump's own output are deliberate: the reader
// reports what the file stores (e.g. the NetFlow version of 1.6 records,
// which nfdump 1.7.1 prints as "FLO").
package nfdump
