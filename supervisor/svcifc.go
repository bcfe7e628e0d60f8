package supervisor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Service IFC framing (spec §1.9.3).
const (
	svcGet      = 10
	svcOK       = 12
	svcHdrSize  = 8
	svcMaxReply = 64 << 20
)

// ErrServiceReply is matched by every problem with a module's reply:
// garbage, a hang or a connection closed mid-reply.
var ErrServiceReply = errors.New("service IFC")

// Kinds of service IFC problems, shown in a module's status.
const (
	SvcGarbage = "garbage" // not a valid reply
	SvcHang    = "hang"    // no complete reply within stats_timeout
	SvcClosed  = "closed"  // the module closed the connection mid-reply
	SvcIO      = "io"      // another socket error
	SvcConnect = "connect" // the socket does not accept connections
)

// SvcError is a service IFC failure of one kind.
type SvcError struct {
	Kind string
	Msg  string
}

func (e *SvcError) Error() string        { return "service IFC " + e.Kind + ": " + e.Msg }
func (e *SvcError) Is(target error) bool { return target == ErrServiceReply }

func svcErr(kind, format string, a ...any) error {
	return &SvcError{Kind: kind, Msg: fmt.Sprintf(format, a...)}
}

// ServiceStats is one decoded reply: the counts and the raw interface
// objects with every key the module sent.
type ServiceStats struct {
	InCnt  int
	OutCnt int
	In     []map[string]any
	Out    []map[string]any
}

// The keys the C supervisor requires in every reply (spec §1.9.4).
var (
	svcInKeys  = []string{"messages", "buffers", "ifc_type", "ifc_state", "ifc_id"}
	svcOutKeys = []string{"sent-messages", "dropped-messages", "buffers", "autoflushes", "num_clients", "ifc_type", "ifc_id"}
)

// svcConn is a connection to one module's service IFC. It is used by one
// goroutine at a time.
type svcConn struct {
	c net.Conn
}

func dialService(path string, timeout time.Duration) (*svcConn, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, err
	}
	return &svcConn{c: c}, nil
}

func (s *svcConn) Close() error { return s.c.Close() }

// Query sends one GET and reads the reply within timeout.
func (s *svcConn) Query(timeout time.Duration) (*ServiceStats, error) {
	if err := s.c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := s.c.Write([]byte{svcGet, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		return nil, svcErr(SvcIO, "sending the request: %v", err)
	}
	var hdr [svcHdrSize]byte
	if err := readFull(s.c, hdr[:], "reply header", timeout); err != nil {
		return nil, err
	}
	if hdr[0] != svcOK {
		return nil, svcErr(SvcGarbage, "command %d, want %d (header % x)", hdr[0], svcOK, hdr)
	}
	size := binary.LittleEndian.Uint32(hdr[4:])
	if size == 0 || size > svcMaxReply {
		return nil, svcErr(SvcGarbage, "body size %d", size)
	}
	body := make([]byte, size)
	if err := readFull(s.c, body, "reply body", timeout); err != nil {
		return nil, err
	}
	return decodeServiceReply(body)
}

func readFull(c net.Conn, buf []byte, what string, timeout time.Duration) error {
	n, err := io.ReadFull(c, buf)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		if n == 0 {
			return svcErr(SvcHang, "no %s within %v", what, timeout)
		}
		return svcErr(SvcHang, "%d of %d bytes of the %s within %v", n, len(buf), what, timeout)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return svcErr(SvcClosed, "connection closed mid-reply after %d of %d bytes of the %s", n, len(buf), what)
	}
	return svcErr(SvcIO, "reading the %s: %v", what, err)
}

// decodeServiceReply parses a reply body: JSON and its NUL. Missing keys,
// as for the C supervisor, make the reply invalid.
func decodeServiceReply(body []byte) (*ServiceStats, error) {
	if body[len(body)-1] != 0 {
		return nil, svcErr(SvcGarbage, "body is not NUL-terminated")
	}
	body = body[:len(body)-1]
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, svcErr(SvcGarbage, "%v", err)
	}
	st := &ServiceStats{}
	var err error
	if st.InCnt, err = intKey(raw, "in_cnt"); err != nil {
		return nil, err
	}
	if st.OutCnt, err = intKey(raw, "out_cnt"); err != nil {
		return nil, err
	}
	if st.In, err = ifcArray(raw, "in", st.InCnt, svcInKeys); err != nil {
		return nil, err
	}
	if st.Out, err = ifcArray(raw, "out", st.OutCnt, svcOutKeys); err != nil {
		return nil, err
	}
	return st, nil
}

func intKey(m map[string]any, key string) (int, error) {
	v, ok := m[key]
	if !ok {
		return 0, svcErr(SvcGarbage, "missing key %q", key)
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, svcErr(SvcGarbage, "%q is %T, want a number", key, v)
	}
	i, err := n.Int64()
	if err != nil || i < 0 || i > 1<<20 {
		return 0, svcErr(SvcGarbage, "%q = %s", key, n)
	}
	return int(i), nil
}

func ifcArray(m map[string]any, key string, n int, keys []string) ([]map[string]any, error) {
	v, ok := m[key]
	if !ok {
		return nil, svcErr(SvcGarbage, "missing key %q", key)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, svcErr(SvcGarbage, "%q is %T, want an array", key, v)
	}
	if len(arr) != n {
		return nil, svcErr(SvcGarbage, "%d entries in %q, %s_cnt says %d", len(arr), key, key, n)
	}
	out := make([]map[string]any, len(arr))
	for i, e := range arr {
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, svcErr(SvcGarbage, "%s[%d] is %T, want an object", key, i, e)
		}
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				return nil, svcErr(SvcGarbage, "%s[%d] lacks %q", key, i, k)
			}
		}
		out[i] = obj
	}
	return out, nil
}

// num reads a counter of a raw interface object as uint64 (0 when absent
// or not a number).
func num(obj map[string]any, key string) uint64 {
	switch v := obj[key].(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil && i >= 0 {
			return uint64(i)
		}
		if f, err := v.Float64(); err == nil && f >= 0 {
			return uint64(f)
		}
	case float64:
		if v >= 0 {
			return uint64(v)
		}
	}
	return 0
}

// str reads a string of a raw interface object ("" when absent).
func str(obj map[string]any, key string) string {
	s, _ := obj[key].(string)
	return s
}
