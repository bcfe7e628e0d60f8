package trap

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"go.uber.org/zap"
)

// Service IFC commands (libtrap ifc_service.c, trap-wire.md §9).
const (
	serviceGetCom   = 10 // SERVICE_GET_COM: statistics request
	serviceSetCom   = 11 // SERVICE_SET_COM: defined, not implemented by libtrap
	serviceOKReply  = 12 // SERVICE_OK_REPLY
	serviceHdrSize  = 8  // {uint8 com; 3 padding; uint32 LE size}
	serviceMaxBody  = 1 << 16
	serviceBacklogN = 64
)

// ServiceSocketPath is the path of a module's service socket:
// DIR/trap-service_PID.sock.
func ServiceSocketPath(dir string, pid int) string {
	return filepath.Join(dir, "trap-service_"+strconv.Itoa(pid)+".sock")
}

// service answers the NEMEA Supervisor's statistics requests on a UNIX
// socket. Every connection may send several requests; a request with any
// other command closes it.
type service struct {
	c    *Context
	ln   net.Listener
	path string
	log  *zap.Logger

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func startService(c *Context, dir string) (*service, error) {
	path := ServiceSocketPath(dir, os.Getpid())
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("trap: service IFC: removing stale %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("trap: service IFC: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("trap: service IFC: %w", err)
	}
	s := &service{c: c, ln: ln, path: path, log: c.log, conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

func (s *service) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if !closed {
				s.log.Warn("trap: service IFC accept failed", zap.Error(err))
			}
			return
		}
		s.mu.Lock()
		if s.closed || len(s.conns) >= serviceBacklogN {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(conn)
	}
}

func (s *service) serve(conn net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		conn.Close()
	}()
	var hdr [serviceHdrSize]byte
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return
		}
		size := binary.LittleEndian.Uint32(hdr[4:])
		if hdr[0] != serviceGetCom || size > serviceMaxBody {
			s.log.Debug("trap: service IFC closing client", zap.Uint8("command", hdr[0]))
			return
		}
		if _, err := io.CopyN(io.Discard, conn, int64(size)); err != nil {
			return
		}
		body, err := s.c.statsJSON()
		if err != nil {
			s.log.Warn("trap: service IFC encoding statistics", zap.Error(err))
			return
		}
		if _, err := conn.Write(serviceReply(body)); err != nil {
			return
		}
	}
}

// serviceReply frames a JSON body: header with command 12 and the LE size
// of the body including its terminating NUL, then the body and the NUL.
func serviceReply(body []byte) []byte {
	out := make([]byte, serviceHdrSize, serviceHdrSize+len(body)+1)
	out[0] = serviceOKReply
	binary.LittleEndian.PutUint32(out[4:], uint32(len(body)+1))
	out = append(out, body...)
	return append(out, 0)
}

func (s *service) stop() error {
	s.mu.Lock()
	s.closed = true
	for conn := range s.conns {
		conn.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("trap: service IFC: closing %s: %w", s.path, err)
	}
	return nil
}

// The statistics JSON of libtrap's encode_cnts_to_json. Counters in
// client_stats_arr are strings, elsewhere numbers.
type serviceStats struct {
	InCnt  int          `json:"in_cnt"`
	OutCnt int          `json:"out_cnt"`
	In     []serviceIn  `json:"in"`
	Out    []serviceOut `json:"out"`
}

type serviceIn struct {
	State      int    `json:"ifc_state"`
	ID         string `json:"ifc_id"`
	Type       int    `json:"ifc_type"`
	Messages   uint64 `json:"messages"`
	Buffers    uint64 `json:"buffers"`
	DelayLast  uint64 `json:"delay_last"`
	DelayTotal uint64 `json:"delay_total"`
	// Flowgate's addition for k: inputs (a supervisor ignores unknown keys).
	Kafka *KafkaInputStats `json:"kafka,omitempty"`
}

type serviceOut struct {
	ID          string          `json:"ifc_id"`
	Type        int             `json:"ifc_type"`
	Clients     int             `json:"num_clients"`
	Sent        uint64          `json:"sent-messages"`
	Dropped     uint64          `json:"dropped-messages"`
	Buffers     uint64          `json:"buffers"`
	Autoflushes uint64          `json:"autoflushes"`
	ClientStats []serviceClient `json:"client_stats_arr"`
	// Flowgate's addition for k: outputs.
	Kafka *KafkaOutputStats `json:"kafka,omitempty"`
}

type serviceClient struct {
	ID              string  `json:"id"`
	SentContainers  string  `json:"sent_containers"`
	SentMessages    string  `json:"sent_messages"`
	SkippedMessages string  `json:"skipped_messages"`
	SkippedPercent  float64 `json:"skipped_percentage"`
}

func clientEntry(id string, containers, sent, skipped uint64) serviceClient {
	var pct float64
	if sent+skipped > 0 {
		pct = float64(skipped) * 100 / float64(sent+skipped)
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	return serviceClient{ID: id, SentContainers: u(containers), SentMessages: u(sent), SkippedMessages: u(skipped), SkippedPercent: pct}
}

// statsJSON encodes the module's interface counters for the service IFC.
func (c *Context) statsJSON() ([]byte, error) {
	st := serviceStats{InCnt: len(c.inputs), OutCnt: len(c.outputs), In: []serviceIn{}, Out: []serviceOut{}}
	for _, in := range c.inputs {
		s := in.Stats()
		e := serviceIn{ID: s.ID, Type: int(s.Kind), Messages: s.Messages, Buffers: s.Buffers, Kafka: s.Kafka}
		if s.Connected {
			e.State = 1
		}
		if e.ID == "" {
			e.ID = "none"
		}
		st.In = append(st.In, e)
	}
	for _, out := range c.outputs {
		s := out.Stats()
		e := serviceOut{ID: s.ID, Type: int(s.Kind), Clients: s.Clients, Sent: s.SentMessages,
			Dropped: s.DroppedMessages, Buffers: s.Buffers, Autoflushes: s.Autoflushes, Kafka: s.Kafka}
		if e.ID == "" {
			e.ID = "none"
		}
		// The first entry sums the clients (libtrap's
		// "extended_input_interface_info"), one entry per client follows.
		var tc, tm, ts uint64
		for _, cl := range s.PerClient {
			tc, tm, ts = tc+cl.SentContainers, tm+cl.SentMessages, ts+cl.SkippedMessages
		}
		e.ClientStats = append(e.ClientStats, clientEntry("extended_input_interface_info", tc, tm, ts))
		for _, cl := range s.PerClient {
			e.ClientStats = append(e.ClientStats, clientEntry(cl.ID, cl.SentContainers, cl.SentMessages, cl.SkippedMessages))
		}
		st.Out = append(st.Out, e)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("trap: service IFC: %w", err)
	}
	return b, nil
}
