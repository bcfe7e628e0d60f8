package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// wantTotals computes the expected output straight from the CSV columns,
// independently of the unirec and trap packages.
func wantTotals(t *testing.T, csvPath string) string {
	t.Helper()
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	cols := strings.Split(sc.Text(), ",")
	var pi, ki int
	for i, c := range cols {
		switch strings.Fields(c)[1] {
		case "PROTOCOL":
			pi = i
		case "PACKETS":
			ki = i
		}
	}
	var totals [256]uint64
	for sc.Scan() {
		v := strings.Split(sc.Text(), ",")
		p, _ := strconv.Atoi(v[pi])
		k, _ := strconv.ParseUint(v[ki], 10, 64)
		totals[p] += k
	}
	var b bytes.Buffer
	printTotals(&b, totals)
	return b.String()
}
