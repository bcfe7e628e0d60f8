package meter

import (
	"bytes"

	"github.com/flowgate/flowgate/unirec"
)

// httpPlugin follows ipfixprobe's http plugin: the first request and the
// first response of a flow fill the HTTP_* fields; a second request (or
// response) in the same flow exports the flow and starts a new one with that
// packet. Values are truncated to ipfixprobe's buffer sizes.
type httpPlugin struct {
	noHooks
	st  slotState[httpState]
	ids [9]unirec.FieldID
}

// Buffer limits (bytes) of ipfixprobe's RecordExtHTTP.
const (
	httpMaxMethod  = 10
	httpMaxHost    = 64
	httpMaxURL     = 128
	httpMaxAgent   = 128
	httpMaxReferer = 128
	httpMaxCType   = 32
	httpMaxServer  = 64
	httpMaxCookies = 512
)

type httpState struct {
	req, resp                         bool
	code                              uint16
	method, host, url, agent, referer text
	contentType, server, cookies      text
}

func (s *httpState) reset() {
	s.req, s.resp, s.code = false, false, 0
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
	if kind := httpKind(p.Payload); kind != 0 {
		s := h.st.fresh(f.Slot)
		s.reset()
		s.parse(kind, p.Payload)
	}
	return Continue
}

func (h *httpPlugin) PreUpdate(f *Flow, p *Packet, _ bool) Action {
	kind := httpKind(p.Payload)
	if kind == 0 {
		return Continue
	}
	s := h.st.get(f.Slot)
	if s == nil {
		s = h.st.fresh(f.Slot)
		s.reset()
	}
	if (kind == httpRequest && s.req) || (kind == httpResponse && s.resp) {
		return FlushReinsert
	}
	s.parse(kind, p.Payload)
	return Continue
}

func (h *httpPlugin) Fill(f *Flow, r *unirec.Record) error {
	s := h.st.get(f.Slot)
	if s == nil {
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

const (
	httpRequest  = 1
	httpResponse = 2
)

var httpMethods = [...]string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "TRACE ", "OPTIONS ", "CONNECT ", "PATCH "}

// httpKind classifies a payload as request, response or neither.
func httpKind(b []byte) int {
	if len(b) < 5 {
		return 0
	}
	if string(b[:5]) == "HTTP/" {
		return httpResponse
	}
	for _, m := range httpMethods {
		if len(b) >= len(m) && string(b[:len(m)]) == m {
			return httpRequest
		}
	}
	return 0
}

// parse reads the start line and headers of a request or response.
func (s *httpState) parse(kind int, b []byte) {
	line, rest := httpLine(b)
	if kind == httpRequest {
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			return
		}
		s.req = true
		s.method.set(httpMaxMethod, line[:sp])
		uri := line[sp+1:]
		if e := bytes.IndexByte(uri, ' '); e >= 0 {
			uri = uri[:e]
		}
		s.url.set(httpMaxURL, uri)
	} else {
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			return
		}
		s.resp = true
		code := line[sp+1:]
		var v uint16
		for i := 0; i < len(code) && i < 3 && code[i] >= '0' && code[i] <= '9'; i++ {
			v = v*10 + uint16(code[i]-'0')
		}
		s.code = v
	}
	for len(rest) > 0 {
		line, rest = httpLine(rest)
		if len(line) == 0 {
			break // end of headers
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, val := line[:colon], bytes.TrimLeft(line[colon+1:], " \t")
		if kind == httpRequest {
			switch {
			case bytes.EqualFold(name, []byte("Host")):
				s.host.set(httpMaxHost, val)
			case bytes.EqualFold(name, []byte("User-Agent")):
				s.agent.set(httpMaxAgent, val)
			case bytes.EqualFold(name, []byte("Referer")):
				s.referer.set(httpMaxReferer, val)
			}
			continue
		}
		switch {
		case bytes.EqualFold(name, []byte("Content-Type")):
			s.contentType.set(httpMaxCType, val)
		case bytes.EqualFold(name, []byte("Server")):
			s.server.set(httpMaxServer, val)
		case bytes.EqualFold(name, []byte("Set-Cookie")):
			cname := val
			if eq := bytes.IndexByte(cname, '='); eq >= 0 {
				cname = cname[:eq]
			}
			s.cookies.add(httpMaxCookies, ';', cname)
		}
	}
}

// httpLine splits off one line ending in "\r\n" or "\n". A line cut off by
// the end of the segment is returned without its terminator.
func httpLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line = b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, b[i+1:]
}

// Release returns the flow's state to the pool.
func (h *httpPlugin) Release(f *Flow) { h.st.drop(f.Slot) }
