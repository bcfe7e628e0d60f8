package meter

import (
	"bytes"

	"github.com/flowgate/flowgate/unirec"
)

// httpPlugin follows ipfixprobe's http plugin (spec/ipfixprobe-plugins.md
// §4). Every packet of a flow, any port, is classified on its own (no TCP
// reassembly):
//
//   - A request starts with GET , POST, PUT , HEAD, DELE, TRAC, OPTI, CONN
//     or PATC, or has "HTTP" right after the second space when the first
//     one is within its first 32 bytes; a response starts with "HTTP".
//   - A request gives HTTP_REQUEST_METHOD (<= 15 bytes), _URL (<= 127) and
//     the Host (<= 63), User-Agent and Referer (<= 127) headers; a response
//     HTTP_RESPONSE_STATUS_CODE, Content-Type (<= 31), Server (<= 127) and
//     the names of its cookies (';'-joined, <= 511). Header names match
//     case-sensitively and the value starts two bytes after the colon.
//   - A message that parses gives the flow its HTTP record. A second request
//     (or response) in a flow, retransmissions included, exports the flow
//     and starts its successor with that packet (FlushReinsert).
//   - A message that fails in its headers (split over segments) keeps what
//     it had parsed; those fields go out with the flow if another message of
//     the flow parses later.
//
// ipfixprobe keeps such partial fields in one scratch record per worker, so
// they turn up in whichever flow parses a message next; here the scratch
// state belongs to the flow, and nothing crosses from one flow to another.
type httpPlugin struct {
	noHooks
	st  slotState[httpState]
	ids [9]unirec.FieldID
}

// Value limits (bytes) of ipfixprobe's RecordExtHTTP buffers.
const (
	httpMaxMethod  = 15
	httpMaxHost    = 63
	httpMaxURL     = 127
	httpMaxAgent   = 127
	httpMaxReferer = 127
	httpMaxCType   = 31
	httpMaxServer  = 127
	httpMaxCookies = 511
)

type httpState struct {
	attached, req, resp               bool
	code                              uint16
	method, host, url, agent, referer text
	contentType, server, cookies      text
}

func (s *httpState) reset() {
	s.attached, s.req, s.resp, s.code = false, false, false, 0
	s.method.reset()
	s.host.reset()
	s.url.reset()
	s.agent.reset()
	s.referer.reset()
	s.contentType.reset()
	s.server.reset()
	s.cookies.reset()
}

var httpFieldNames = []string{"HTTP_RESPONSE_STATUS_CODE", "HTTP_REQUEST_AGENT", "HTTP_REQUEST_HOST",
	"HTTP_REQUEST_METHOD", "HTTP_REQUEST_REFERER", "HTTP_REQUEST_URL", "HTTP_RESPONSE_CONTENT_TYPE",
	"HTTP_RESPONSE_SERVER", "HTTP_RESPONSE_SET_COOKIE_NAMES"}

func (*httpPlugin) Name() string { return "http" }
func (*httpPlugin) Spec() string {
	return "uint16 HTTP_RESPONSE_STATUS_CODE,string HTTP_REQUEST_AGENT,string HTTP_REQUEST_HOST," +
		"string HTTP_REQUEST_METHOD,string HTTP_REQUEST_REFERER,string HTTP_REQUEST_URL," +
		"string HTTP_RESPONSE_CONTENT_TYPE,string HTTP_RESPONSE_SERVER,string HTTP_RESPONSE_SET_COOKIE_NAMES"
}
func (h *httpPlugin) Init(n int) { h.st.init(n) }

func (h *httpPlugin) Bind(t *unirec.Template) error {
	return lookup(t, "http", httpFieldNames, h.ids[:])
}

func (h *httpPlugin) Create(f *Flow, p *Packet) Action {
	if httpKind(p) != httpNone {
		s := h.st.fresh(f.Slot)
		s.reset()
		s.parse(p.Payload)
	}
	return Continue
}

func (h *httpPlugin) PreUpdate(f *Flow, p *Packet, _ bool) Action {
	if httpKind(p) == httpNone {
		return Continue
	}
	s := h.st.get(f.Slot)
	if s == nil {
		s = h.st.fresh(f.Slot)
		s.reset()
	}
	if s.parse(p.Payload) == httpFlush {
		return FlushReinsert
	}
	return Continue
}

// Has reports whether the flow carries an HTTP record.
func (h *httpPlugin) Has(f *Flow) bool {
	s := h.st.get(f.Slot)
	return s != nil && s.attached
}

func (h *httpPlugin) Fill(f *Flow, r *unirec.Record) error {
	s := h.st.get(f.Slot)
	if s == nil || !s.attached {
		return nil
	}
	r.SetUint16(h.ids[0], s.code)
	for i, v := range []*text{&s.agent, &s.host, &s.method, &s.referer, &s.url, &s.contentType, &s.server, &s.cookies} {
		if v.n == 0 {
			continue
		}
		if err := r.SetVar(h.ids[i+1], v.bytes()); err != nil {
			return err
		}
	}
	return nil
}

// Parse outcomes.
const (
	httpFail  = iota
	httpOK    // parsed: the record is attached
	httpFlush // a second request or response of an attached record
)

var httpMethods = [...]string{"GET ", "POST", "PUT ", "HEAD", "DELE", "TRAC", "OPTI", "CONN", "PATC"}

// isHTTPRequest is ipfixprobe's request test.
func isHTTPRequest(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	for _, m := range httpMethods {
		if string(b[:4]) == m {
			return true
		}
	}
	sp1 := bytes.IndexByte(b[:min(32, len(b))], ' ')
	if sp1 < 0 {
		return false
	}
	sp2 := bytes.IndexByte(b[sp1+1:], ' ')
	if sp2 < 0 {
		return false
	}
	return bytes.HasPrefix(b[sp1+1+sp2+1:], httpPrefix)
}

var httpPrefix = []byte("HTTP")

// Message kinds.
const (
	httpNone = iota
	httpRequest
	httpResponse
)

// httpKind classifies a TCP or UDP payload.
func httpKind(p *Packet) int {
	if p.Proto != protoTCP && p.Proto != protoUDP {
		return httpNone
	}
	return httpKindOf(p.Payload)
}

func httpKindOf(b []byte) int {
	switch {
	case isHTTPRequest(b):
		return httpRequest
	case bytes.HasPrefix(b, httpPrefix):
		return httpResponse
	}
	return httpNone
}

// parse classifies and parses one payload into s.
func (s *httpState) parse(b []byte) int {
	var r int
	switch httpKindOf(b) {
	case httpRequest:
		r = s.request(b)
	case httpResponse:
		r = s.response(b)
	default:
		return httpFail
	}
	if r == httpOK {
		s.attached = true
	}
	return r
}

// twoSpaces finds the first space of b and the next one after it.
func twoSpaces(b []byte) (sp1, sp2 int, ok bool) {
	sp1 = bytes.IndexByte(b, ' ')
	if sp1 < 0 {
		return 0, 0, false
	}
	sp2 = bytes.IndexByte(b[sp1+1:], ' ')
	if sp2 < 0 {
		return 0, 0, false
	}
	return sp1, sp1 + 1 + sp2, true
}

// request parses a request line and its headers.
func (s *httpState) request(b []byte) int {
	sp1, sp2, ok := twoSpaces(b)
	if !ok || !bytes.HasPrefix(b[sp2+1:], httpPrefix) {
		return httpFail
	}
	if s.req {
		return httpFlush
	}
	// Exported as C strings: a NUL byte ends them.
	s.method.set(httpMaxMethod, cString(b[:sp1]))
	s.url.set(httpMaxURL, cString(b[sp1+1:sp2]))
	eol := bytes.Index(b[sp2:], crlf)
	if eol < 0 {
		return httpFail
	}
	s.host.reset()
	s.agent.reset()
	s.referer.reset()
	h := headerScan{b: b, off: sp2 + eol + 2}
	for {
		name, value, _, st := h.next()
		if st == hdrFail {
			return httpFail
		}
		if st == hdrEnd {
			break
		}
		switch string(name) {
		case "Host":
			s.host.set(httpMaxHost, value)
		case "User-Agent":
			s.agent.set(httpMaxAgent, value)
		case "Referer":
			s.referer.set(httpMaxReferer, value)
		}
	}
	s.req = true
	return httpOK
}

// response parses a status line and its headers.
func (s *httpState) response(b []byte) int {
	sp1, sp2, ok := twoSpaces(b)
	if !ok {
		return httpFail
	}
	code := cAtoi(b[sp1+1 : sp2])
	if code <= 0 {
		return httpFail
	}
	if s.resp {
		return httpFlush
	}
	s.code = uint16(code)
	eol := bytes.Index(b[sp2:], crlf)
	if eol < 0 {
		return httpFail
	}
	s.contentType.reset()
	s.server.reset()
	s.cookies.reset()
	h := headerScan{b: b, off: sp2 + eol + 2}
loop:
	for {
		name, value, line, st := h.next()
		if st == hdrFail {
			return httpFail
		}
		if st == hdrEnd {
			break
		}
		switch string(name) {
		case "Content-Type":
			s.contentType.set(httpMaxCType, value)
		case "Server":
			s.server.set(httpMaxServer, value)
		case "Set-Cookie":
			eq := bytes.IndexByte(line, '=')
			if eq < 0 {
				break loop // ipfixprobe leaves the header loop here
			}
			from := len(name) + 2
			s.addCookie(line[min(from, eq):eq])
		}
	}
	s.resp = true
	return httpOK
}

func (s *httpState) addCookie(name []byte) {
	x := &s.cookies
	if x.n >= httpMaxCookies-1 {
		return
	}
	if x.b == nil {
		x.b = make([]byte, 0, httpMaxCookies)
	}
	cur := x.b[:x.n]
	if x.n > 0 {
		cur = append(cur, ';')
	}
	room := httpMaxCookies - len(cur)
	x.b = append(cur, name[:min(len(name), room)]...)
	x.n = len(x.b)
}

// Header scan results.
const (
	hdrLine = iota
	hdrEnd  // an empty line or the end of the payload: success
	hdrFail // no "\r\n" (or a NUL before it), or no ':' left
)

// headerScan walks header lines as ipfixprobe does: each line ends at
// "\r\n"; an empty line or the end of the payload ends the headers; the
// name runs to the first ':' of the rest of the payload and the value from
// two bytes after that colon to the end of the line.
type headerScan struct {
	b   []byte
	off int
}

// next returns the next header; name is nil when the first ':' lies past
// the line.
func (h *headerScan) next() (name, value, line []byte, st int) {
	if h.off >= len(h.b) {
		return nil, nil, nil, hdrEnd
	}
	rest := h.b[h.off:]
	eol := bytes.Index(rest, crlf)
	if nul := bytes.IndexByte(rest, 0); eol < 0 || (nul >= 0 && nul < eol) {
		return nil, nil, nil, hdrFail
	}
	if eol == 0 {
		return nil, nil, nil, hdrEnd
	}
	colon := bytes.IndexByte(rest, ':')
	if colon < 0 {
		return nil, nil, nil, hdrFail
	}
	h.off += eol + 2
	line = rest[:eol]
	if colon >= eol {
		return nil, nil, line, hdrLine
	}
	if colon+2 <= eol {
		value = rest[colon+2 : eol]
	}
	return rest[:colon], value, line, hdrLine
}

// cAtoi is C atoi: whitespace, a sign, decimal digits.
func cAtoi(b []byte) int {
	i := 0
	for i < len(b) && isCSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	v := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9' && v < 1<<31; i++ {
		v = v*10 + int(b[i]-'0')
	}
	if neg {
		return -v
	}
	return v
}

// Release returns the flow's state to the pool.
func (h *httpPlugin) Release(f *Flow) { h.st.drop(f.Slot) }
