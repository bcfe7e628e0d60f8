package trap

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// sharedTestdata is goldenDir.
func sharedTestdata(t testing.TB) string { return goldenDir(t) }

// The captured basic_flows session (sessions.md): hello of type UniRec with
// a 149-byte spec, one container of 1363 bytes holding 21 messages, EOS last.
func TestWireGoldenSession(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(sharedTestdata(t), "session_buffered.server_to_client.bin"))
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(raw)
	h, err := ReadHello(r)
	if err != nil {
		t.Fatal(err)
	}
	if h.Format != FormatUniRec || len(h.Spec) != 149 {
		t.Fatalf("hello = %v with %d-byte spec, want unirec with 149", h.Format, len(h.Spec))
	}
	if got := AppendHello(nil, h); !bytes.Equal(got, raw[:8+149]) {
		t.Errorf("AppendHello does not reproduce the captured hello")
	}
	var hdr [ContainerHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatal(err)
	}
	p, seq, count := ParseContainerHeader(hdr[:])
	if p != 1363 || seq != 0 || count != 21 {
		t.Fatalf("container header = %d/%d/%d, want 1363/0/21", p, seq, count)
	}
	var again [ContainerHeaderSize]byte
	PutContainerHeader(again[:], p, seq, count)
	if again != hdr {
		t.Errorf("PutContainerHeader = % x, want % x", again, hdr)
	}
	payload := raw[8+149+ContainerHeaderSize:]
	var rebuilt []byte
	n := 0
	var last []byte
	for {
		m, rest, err := NextMessage(payload)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rebuilt = AppendMessage(rebuilt, m)
		payload, last = rest, m
		n++
	}
	if n != 21 || !IsEOS(last) || len(last) != 1 {
		t.Errorf("got %d messages ending in % x, want 21 ending in EOS", n, last)
	}
	if !bytes.Equal(rebuilt, raw[8+149+ContainerHeaderSize:]) {
		t.Errorf("AppendMessage does not rebuild the payload")
	}
}

func TestWireErrors(t *testing.T) {
	if _, _, err := NextMessage([]byte{0, 5, 1, 2}); !errors.Is(err, ErrBadFraming) {
		t.Errorf("short message: %v", err)
	}
	if _, _, err := NextMessage([]byte{7}); !errors.Is(err, ErrBadFraming) {
		t.Errorf("stray byte: %v", err)
	}
	if _, err := ReadHello(bytes.NewReader([]byte{9, 0, 0, 0, 0, 0, 0, 0})); !errors.Is(err, ErrBadHello) {
		t.Errorf("bad data type: %v", err)
	}
	if _, err := ReadHello(bytes.NewReader([]byte{2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})); !errors.Is(err, ErrBadHello) {
		t.Errorf("huge spec: %v", err)
	}
	if _, err := ReadHello(bytes.NewReader([]byte{2, 0, 0, 0, 0, 0, 0, 9, 'a'})); err == nil {
		t.Errorf("truncated spec: no error")
	}
}
