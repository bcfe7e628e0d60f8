package nfdump

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// csvColumn renders one column of nfdump's -o csv output for r. The
// 1.7.1 column set is used by Debian's nfdump; 1.7.8 (zstd golden) uses
// firstSeen..flows.
func csvColumn(name string, r *Record) (string, bool) {
	switch name {
	case "ts":
		return utcSeconds(r.FirstMs), true
	case "te":
		return utcSeconds(r.LastMs), true
	case "td", "duration":
		return fmt.Sprintf("%.3f", float64(r.LastMs-r.FirstMs)/1000), true
	case "firstSeen":
		return utcSeconds(r.FirstMs) + fmt.Sprintf(".%03d", r.FirstMs%1000), true
	case "sa", "srcAddr":
		return addrText(r.SrcIP), true
	case "da", "dstAddr":
		return addrText(r.DstIP), true
	case "sp", "srcPort":
		return strconv.Itoa(int(r.SrcPort)), true
	case "dp":
		return strconv.Itoa(int(r.DstPort)), true
	case "dstPort":
		// nfdump 1.7.8 csv prints ICMP type and code as "type.code".
		if r.IsICMP() {
			return fmt.Sprintf("%d.%d", r.ICMPType(), r.ICMPCode()), true
		}
		return strconv.Itoa(int(r.DstPort)), true
	case "pr":
		return protoName(r.Proto), true
	case "proto":
		return u8(r.Proto), true
	case "flg":
		return tcpFlags(r.TCPFlags), true
	case "fwd":
		return u8(r.FwdStatus), true
	case "stos":
		return u8(r.SrcTos), true
	case "dtos":
		return u8(r.DstTos), true
	case "ipkt", "packets":
		return u(r.Packets), true
	case "ibyt", "bytes":
		return u(r.Bytes), true
	case "opkt":
		return u(r.OutPackets), true
	case "obyt":
		return u(r.OutBytes), true
	case "flows":
		return u(r.Flows), true
	case "in":
		return u32(r.Input), true
	case "out":
		return u32(r.Output), true
	case "sas":
		return u32(r.SrcAS), true
	case "das":
		return u32(r.DstAS), true
	case "smk":
		return u8(r.SrcMask), true
	case "dmk":
		return u8(r.DstMask), true
	case "dir":
		return u8(r.Direction), true
	case "nh":
		return addrText(r.NextHop), true
	case "nhb":
		// Known nfdump 1.7.1 csv bug: for IPv6 records the nhb column
		// prints the IP next hop, not the BGP next hop (.fmt.txt is right).
		if r.Has(elIPv6) || (r.SrcIP.Is6() && !r.Has(elIPv4)) {
			return addrText(r.NextHop), true
		}
		return addrText(r.BgpNextHop), true
	case "svln":
		return u32(r.SrcVlan), true
	case "dvln":
		return u32(r.DstVlan), true
	case "ismc":
		return macText(r.InSrcMAC), true
	case "odmc":
		return macText(r.OutDstMAC), true
	case "idmc":
		return macText(r.InDstMAC), true
	case "osmc":
		return macText(r.OutSrcMAC), true
	case "ra":
		return addrText(r.RouterIP), true
	case "eng":
		return fmt.Sprintf("%d/%d", r.EngineType, r.EngineID), true
	case "exid":
		return strconv.Itoa(int(r.ExporterID)), true
	}
	if strings.HasPrefix(name, "mpls") {
		i, err := strconv.Atoi(name[4:])
		if err == nil && i >= 1 && i <= 10 {
			return mplsText(r.MPLS[i-1]), true
		}
	}
	// cl/sl/al (latency) and tr (receive time, run dependent) are not compared.
	return "", false
}

// readGoldenCSV returns the header and data rows of an nfdump -o csv file,
// skipping warnings before the header and the Summary trailer.
func readGoldenCSV(t *testing.T, path string, r io.Reader) ([]string, [][]string) {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header []string
	var rows [][]string
	for sc.Scan() {
		line := sc.Text()
		if header == nil {
			if strings.HasPrefix(line, "ts,") || strings.HasPrefix(line, "firstSeen,") {
				header = strings.Split(line, ",")
			}
			continue
		}
		if line == "Summary" {
			break
		}
		if line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, ","))
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if header == nil {
		t.Fatalf("%s: no csv header line", path)
	}
	return header, rows
}

// decodeAll reads every record of an nfdump file.
func decodeAll(t *testing.T, path string) ([]Record, *File) {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	it := f.Records(context.Background())
	defer it.Close()
	var recs []Record
	for it.Next() {
		recs = append(recs, *it.Record())
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate %s: %v", path, err)
	}
	return recs, f
}

func compareCSV(t *testing.T, csvPath string, recs []Record) {
	t.Helper()
	fh, err := os.Open(csvPath)
	if err != nil {
		t.Fatalf("golden csv: %v", err)
	}
	defer fh.Close()
	header, rows := readGoldenCSV(t, csvPath, fh)
	if len(rows) > len(recs) || (len(rows) < len(recs) && !strings.HasSuffix(csvPath, ".head60")) {
		t.Fatalf("%s: %d golden rows, decoded %d records", filepath.Base(csvPath), len(rows), len(recs))
	}
	bad := 0
	for i, row := range rows {
		for c, name := range header {
			want := strings.TrimSpace(row[c])
			got, ok := csvColumn(name, &recs[i])
			if !ok {
				continue
			}
			if got != want {
				bad++
				if bad <= 20 {
					t.Errorf("%s record %d column %s: got %q, want %q", filepath.Base(csvPath), i, name, got, want)
				}
			}
		}
	}
}

// fmtColumns are the .fmt.txt columns compared; see the testdata README.
// Column 1 (%ter) is skipped: nfdump 1.7.1 prints last%100 as milliseconds
// (known bug); "last" is checked through %tsr + %td instead. Column 44
// (%trr) is run dependent. Counters are compared only when unscaled
// ("1.0 M" is nfdump's human scaling).
//
// by178 marks output of nfdump 1.7.8, whose %it/%ic print the two bytes of
// the dst port for every protocol, not only ICMP.
func compareFmt(t *testing.T, name string, r io.Reader, recs []Record, layout int, by178 bool) {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	i, bad := 0, 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		col := strings.Split(line, "|")
		if len(col) != 45 {
			continue
		}
		if i >= len(recs) {
			t.Fatalf("%s: more golden lines than %d decoded records", name, len(recs))
		}
		rec := &recs[i]
		check := func(c int, got string) {
			if col[c] != got {
				bad++
				if bad <= 20 {
					t.Errorf("%s record %d fmt column %d: got %q, want %q", name, i, c, got, col[c])
				}
			}
		}
		check(0, fmt.Sprintf("%d.%03d", rec.FirstMs/1000, rec.FirstMs%1000))
		d := rec.LastMs - rec.FirstMs
		check(3, fmt.Sprintf("%02d:%02d:%02d.%03d", d/3600000, d/60000%60, d/1000%60, d%1000))
		check(4, protoName(rec.Proto))
		check(5, addrText(rec.SrcIP))
		check(6, addrText(rec.DstIP))
		check(7, strconv.Itoa(int(rec.SrcPort)))
		if rec.IsICMP() {
			check(8, fmt.Sprintf("%d.%d", rec.ICMPType(), rec.ICMPCode()))
		} else {
			check(8, strconv.Itoa(int(rec.DstPort)))
		}
		if by178 {
			check(9, u8(uint8(rec.DstPort>>8)))
			check(10, u8(uint8(rec.DstPort)))
		} else {
			check(9, u8(rec.ICMPType()))
			check(10, u8(rec.ICMPCode()))
		}
		check(11, tcpFlags(rec.TCPFlags))
		for c, v := range map[int]uint64{12: uint64(rec.SrcTos), 13: uint64(rec.DstTos), 14: uint64(rec.FwdStatus),
			15: rec.Packets, 16: rec.Bytes, 17: rec.OutPackets, 18: rec.OutBytes, 19: rec.Flows,
			20: uint64(rec.Input), 21: uint64(rec.Output), 22: uint64(rec.SrcAS), 23: uint64(rec.DstAS),
			24: uint64(rec.NextAS), 25: uint64(rec.PrevAS), 26: uint64(rec.SrcMask), 27: uint64(rec.DstMask),
			29: uint64(rec.BiFlowDir), 30: uint64(rec.EndReason), 35: uint64(rec.ExporterID),
			36: uint64(rec.SrcVlan), 37: uint64(rec.DstVlan)} {
			if strings.Contains(col[c], " ") {
				continue // scaled, e.g. "1.0 M"
			}
			check(c, u(v))
		}
		check(28, map[uint8]string{0: "I", 1: "E"}[rec.Direction])
		check(31, addrText(rec.NextHop))
		check(32, addrText(rec.BgpNextHop))
		check(33, addrText(rec.RouterIP))
		check(34, fmt.Sprintf("%d/%d", rec.EngineType, rec.EngineID))
		check(38, macText(rec.InSrcMAC))
		check(39, macText(rec.OutDstMAC))
		check(40, macText(rec.InDstMAC))
		check(41, macText(rec.OutSrcMAC))
		check(42, mplsText(rec.MPLS[0]))
		if layout == LayoutV2 {
			// 1.7.1 prints "FLO" for every converted 1.6 record although the
			// file stores the NetFlow version; only V2 records are compared.
			check(43, nfVersionText(rec.NfVersion))
		}
		i++
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if i != len(recs) {
		t.Errorf("%s: %d golden lines, decoded %d records", name, i, len(recs))
	}
}

func nfVersionText(v uint8) string {
	if v&0x40 != 0 {
		return fmt.Sprintf("Pv%d", v&0x0f)
	}
	return fmt.Sprintf("Nv%d", v)
}

func TestGoldenFilesDecodeLikeNfdump(t *testing.T) {
	dir := testdataDir(t, "nfdump")
	files, err := filepath.Glob(filepath.Join(dir, "*.nf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .nf files in %s (%v)", dir, err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".nf")
		t.Run(name, func(t *testing.T) {
			recs, f := decodeAll(t, path)
			golden := filepath.Join(dir, "golden", name)
			if st := f.Stats(); st.Flows != uint64(len(recs)) {
				t.Errorf("stat record says %d flows, decoded %d", st.Flows, len(recs))
			}
			if _, err := os.Stat(golden + ".csv"); err == nil {
				compareCSV(t, golden+".csv", recs)
			} else {
				compareCSV(t, golden+".csv.head60", recs)
			}
			var fr io.Reader
			if fh, err := os.Open(golden + ".fmt.txt"); err == nil {
				defer fh.Close()
				fr = fh
			} else {
				fh, err := os.Open(golden + ".fmt.txt.gz")
				if err != nil {
					t.Fatalf("no fmt golden: %v", err)
				}
				defer fh.Close()
				zr, err := gzip.NewReader(fh)
				if err != nil {
					t.Fatalf("%v", err)
				}
				fr = zr
			}
			// Golden output of zstd files comes from nfdump 1.7.8 (1.7.1 cannot read them).
			compareFmt(t, name+".fmt.txt", fr, recs, f.Layout(), f.Compression() == CompressZSTD)
		})
	}
}

func TestNetflowCaptureFilesDecodeLikeNfdump(t *testing.T) {
	dir := testdataDir(t, filepath.Join("netflow", "nfcapd171"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.nf"))
	if len(files) == 0 {
		t.Skipf("no .nf files in %s", dir)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".nf")
		t.Run(name, func(t *testing.T) {
			recs, _ := decodeAll(t, path)
			compareCSV(t, filepath.Join(dir, name+".csv"), recs)
		})
	}
}
