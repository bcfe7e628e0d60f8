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
	"sync/atomic"
	"time"

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
	// serviceIOTimeout bounds the rest of a request once its first byte
	// arrived, and the reply: libtrap gives up after 8 tries 25 ms apart.
	serviceIOTimeout = 200 * time.Millisecond
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
		// A client may stay idle between requests as long as it likes, but
		// a request that has begun must complete within serviceIOTimeout,
		// as in libtrap: a partial header does not hold the connection.
		conn.SetDeadline(time.Time{})
		if _, err := io.ReadFull(conn, hdr[:1]); err != nil {
			return
		}
		conn.SetDeadline(time.Now().Add(serviceIOTimeout))
		if _, err := io.ReadFull(conn, hdr[1:]); err != nil {
			s.log.Debug("trap: service IFC closing client after a partial request", zap.Error(err))
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

// The statistics JSON of libtrap's encode_cnts_to_json (spec
// supervisor.md §1.9.4).
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
	ID          string `json:"ifc_id"`
	Type        int    `json:"ifc_type"`
	Clients     int    `json:"num_clients"`
	Sent        uint64 `json:"sent-messages"`
	Dropped     uint64 `json:"dropped-messages"`
	Buffers     uint64 `json:"buffers"`
	Autoflushes uint64 `json:"autoflushes"`
	// serviceClient (TCP, UNIX) or serviceTLSClient (TLS) entries.
	ClientStats []any `json:"client_stats_arr"`
	// Flowgate's addition for k: outputs.
	Kafka *KafkaOutputStats `json:"kafka,omitempty"`
}

// serviceClient is a client entry of a TCP or UNIX output: the counters
// are decimal strings, the id an integer (peer PID or port).
type serviceClient struct {
	ID              any     `json:"id"`
	SentContainers  string  `json:"sent_containers"`
	SentMessages    string  `json:"sent_messages"`
	SkippedMessages string  `json:"skipped_messages"`
	SkippedPercent  float64 `json:"skipped_percentage"`
}

// serviceTLSClient is a client entry of a TLS output: integers throughout.
type serviceTLSClient struct {
	ID              int     `json:"id"`
	SentContainers  uint64  `json:"sent_containers"`
	SentMessages    uint64  `json:"sent_messages"`
	SkippedMessages uint64  `json:"skipped_messages"`
	SkippedPercent  float64 `json:"skipped_percentage"`
}

func skippedPercent(sent, skipped uint64) float64 {
	if sent+skipped == 0 {
		return 0
	}
	return float64(skipped) * 100 / float64(sent+skipped)
}

func clientEntry(id any, containers, sent, skipped uint64) serviceClient {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	return serviceClient{ID: id, SentContainers: u(containers), SentMessages: u(sent), SkippedMessages: u(skipped),
		SkippedPercent: skippedPercent(sent, skipped)}
}

// serviceClientID is a client's id as the integer libtrap reports (0 when the
// transport gave none).
func serviceClientID(id string) int {
	n, _ := strconv.Atoi(id)
	return n
}

// recvDelay measures, as libtrap's delay_last and delay_total do, the time
// a module spends outside Recv. It is sampled when Recv has to go to the
// transport for the next buffer (not for every message of a buffer, which
// would put two clock reads on the per-record path): delay_last is the
// time outside Recv before the latest such call, in µs, and delay_total
// their sum in whole seconds. The time Recv spends splitting a buffer into
// messages is counted as outside, which is a few nanoseconds per message.
type recvDelay struct {
	left    int64 // monotonic ns of the last return from the transport, 0 before the first
	lastUS  atomic.Uint64
	totalNS atomic.Uint64
}

// delayEpoch is the origin of the monotonic readings of recvDelay.
var delayEpoch = time.Now()

// enter is called when Recv goes to the transport.
func (d *recvDelay) enter() {
	if d.left == 0 {
		return
	}
	gap := int64(time.Since(delayEpoch)) - d.left
	if gap < 0 {
		gap = 0
	}
	d.lastUS.Store(uint64(gap) / 1000)
	d.totalNS.Add(uint64(gap))
}

// leave is called when the transport returned.
func (d *recvDelay) leave() { d.left = max(int64(time.Since(delayEpoch)), 1) }

// inputSummary is libtrap's "extended_input_interface_info": what the
// module's TCP and UNIX inputs received, repeated on every TCP and UNIX
// output. Flowgate does not count messages missed through sequence gaps,
// so skipped_messages is 0.
func (c *Context) inputSummary() serviceClient {
	var conts, msgs uint64
	for _, in := range c.inputs {
		s := in.Stats()
		if s.Kind == KindTCP || s.Kind == KindUNIX {
			conts += s.Buffers
			msgs += s.Messages
		}
	}
	return clientEntry("extended_input_interface_info", conts, msgs, 0)
}

// statsJSON encodes the module's interface counters for the service IFC
// with libtrap's keys, types and per-kind conventions.
func (c *Context) statsJSON() ([]byte, error) {
	st := serviceStats{InCnt: len(c.inputs), OutCnt: len(c.outputs), In: []serviceIn{}, Out: []serviceOut{}}
	for _, in := range c.inputs {
		s := in.Stats()
		e := serviceIn{ID: s.ID, Type: int(s.Kind), Messages: s.Messages, Buffers: s.Buffers, Kafka: s.Kafka,
			DelayLast: in.delay.lastUS.Load(), DelayTotal: in.delay.totalNS.Load() / uint64(time.Second)}
		if s.Connected {
			e.State = 1
		}
		if e.ID == "" {
			e.ID = "none"
		}
		st.In = append(st.In, e)
	}
	var summary *serviceClient
	for _, out := range c.outputs {
		s := out.Stats()
		e := serviceOut{ID: s.ID, Type: int(s.Kind), Clients: s.Clients, Sent: s.SentMessages,
			Dropped: s.DroppedMessages, Buffers: s.Buffers, Autoflushes: s.Autoflushes, ClientStats: []any{}, Kafka: s.Kafka}
		switch s.Kind {
		case KindBlackhole:
			// libtrap: a blackhole has no id and counts as one client.
			e.ID, e.Clients = "none", 1
		case KindFile:
			e.Clients = 1
		case KindTLS:
			for _, cl := range s.PerClient {
				e.ClientStats = append(e.ClientStats, serviceTLSClient{ID: serviceClientID(cl.ID), SentContainers: cl.SentContainers,
					SentMessages: cl.SentMessages, SkippedMessages: cl.SkippedMessages,
					SkippedPercent: skippedPercent(cl.SentMessages, cl.SkippedMessages)})
			}
		case KindTCP, KindUNIX:
			if summary == nil {
				sm := c.inputSummary()
				summary = &sm
			}
			e.ClientStats = append(e.ClientStats, *summary)
			for _, cl := range s.PerClient {
				e.ClientStats = append(e.ClientStats, clientEntry(serviceClientID(cl.ID), cl.SentContainers, cl.SentMessages, cl.SkippedMessages))
			}
		}
		if e.ID == "" {
			e.ID = "none"
		}
		st.Out = append(st.Out, e)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("trap: service IFC: %w", err)
	}
	return b, nil
}
