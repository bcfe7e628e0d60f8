package meter

import (
	"strings"
	"testing"
	"time"
)

// One test per rule of spec/ipfixprobe-plugins.md §4.

func httpReq(path string, headers ...string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\n" + strings.Join(append(headers, ""), "\r\n") + "\r\n")
}

func httpResp(code string, headers ...string) []byte {
	return []byte("HTTP/1.1 " + code + " X\r\n" + strings.Join(append(headers, ""), "\r\n") + "\r\nbody")
}

// httpConv meters TCP payloads: even indexes A->B (client), odd B->A.
func httpConv(t *testing.T, payloads ...[]byte) []testRec {
	t.Helper()
	m := newTestMeter(t, Config{Plugins: []string{"http"}})
	for i, p := range payloads {
		ts := t0.Add(time.Duration(i) * time.Second)
		if i%2 == 0 {
			m.packet(ts, tcp(true, 50000, 80, 0x18, p))
		} else {
			m.packet(ts, tcp(false, 80, 50000, 0x18, p))
		}
	}
	return m.flush()
}

func TestHTTPRequestClassification(t *testing.T) {
	tests := []struct {
		payload string
		method  string
	}{
		{"GET /a HTTP/1.1\r\n\r\n", "GET"},
		{"DELETE /a HTTP/1.1\r\n\r\n", "DELETE"},
		{"PATCH /a HTTP/1.1\r\n\r\n", "PATCH"},
		{"FOO /a HTTP/1.1\r\n\r\n", "FOO"}, // space within 32 bytes, HTTP after the second
		{"FOO /a XTTP/1.1\r\n\r\n", ""},    // neither
		{"get /a HTTP/1.1\r\n\r\n", "get"}, // the second rule, not the method list
		{"POSTMAN /a HTTP/1.0\r\n\r\n", "POSTMAN"},
	}
	for _, tc := range tests {
		recs := httpConv(t, []byte(tc.payload))
		got := ""
		if recs[0].ext != 0 {
			got = strings.Trim(recs[0].rec["HTTP_REQUEST_METHOD"], `"`)
		}
		if got != tc.method {
			t.Errorf("%q: method %q, want %q", tc.payload, got, tc.method)
		}
	}
}

func TestHTTPRequestFieldsAndLimits(t *testing.T) {
	recs := httpConv(t, httpReq("/"+strings.Repeat("u", 200),
		"Host: "+strings.Repeat("h", 100), "User-Agent: ua/1", "Referer: http://r/", "Host: second.example"))
	checkFields(t, recs[0].rec, map[string]string{
		"HTTP_REQUEST_URL":     `"/` + strings.Repeat("u", 126) + `"`,
		"HTTP_REQUEST_HOST":    `"second.example"`, // a repeated header overwrites
		"HTTP_REQUEST_AGENT":   `"ua/1"`,
		"HTTP_REQUEST_REFERER": `"http://r/"`,
	})
	recs = httpConv(t, []byte("VERYLONGMETHODNAME / HTTP/1.1\r\n\r\n"))
	checkFields(t, recs[0].rec, map[string]string{"HTTP_REQUEST_METHOD": `"VERYLONGMETHODN"`})
}

func TestHTTPHeaderNamesAndValues(t *testing.T) {
	recs := httpConv(t, httpReq("/", "host: lower.example", "Host:x.example", "User-Agent:  two-spaces"))
	checkFields(t, recs[0].rec, map[string]string{
		"HTTP_REQUEST_HOST":  `".example"`, // case-sensitive names; the value starts 2 bytes after ':'
		"HTTP_REQUEST_AGENT": `" two-spaces"`,
	})
}

func TestHTTPResponseFields(t *testing.T) {
	recs := httpConv(t, httpReq("/"), httpResp("404",
		"Server: srv/1", "Content-Type: "+strings.Repeat("c", 40),
		"Set-Cookie: a=1; Path=/", "Set-Cookie:  b =2", "Set-Cookie: a=3"))
	checkFields(t, recs[0].rec, map[string]string{
		"HTTP_RESPONSE_STATUS_CODE":      "404",
		"HTTP_RESPONSE_SERVER":           `"srv/1"`,
		"HTTP_RESPONSE_CONTENT_TYPE":     `"` + strings.Repeat("c", 31) + `"`,
		"HTTP_RESPONSE_SET_COOKIE_NAMES": `"a; b ;a"`, // no trailing ';', no de-duplication, spaces kept
	})
}

func TestHTTPSetCookieWithoutEqualsEndsHeaders(t *testing.T) {
	recs := httpConv(t, httpReq("/"), httpResp("200", "Set-Cookie: flag", "Server: after"))
	if recs[0].ext == 0 {
		t.Fatal("response not parsed")
	}
	checkFields(t, recs[0].rec, map[string]string{"HTTP_RESPONSE_STATUS_CODE": "200", "HTTP_RESPONSE_SERVER": `""`})
}

func TestHTTPCookieNamesLimit(t *testing.T) {
	var hs []string
	for i := 0; i < 60; i++ {
		hs = append(hs, "Set-Cookie: "+strings.Repeat("n", 20)+"=v")
	}
	recs := httpConv(t, httpReq("/"), httpResp("200", hs...))
	if n := len(recs[0].rec["HTTP_RESPONSE_SET_COOKIE_NAMES"]) - 2; n != 511 {
		t.Errorf("cookie names %d bytes, want 511", n)
	}
}

func TestHTTPResponseStatusMustBePositive(t *testing.T) {
	recs := httpConv(t, []byte("x"), []byte("HTTP/1.1 abc OK\r\n\r\n"))
	if recs[0].ext != 0 {
		t.Errorf("status 'abc' parsed: %v", recs[0].rec)
	}
}

func TestHTTPSecondRequestSplitsTheFlow(t *testing.T) {
	recs := httpConv(t, httpReq("/one", "Host: h"), httpResp("200"), httpReq("/two"), httpResp("304"))
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	checkFields(t, recs[0].rec, map[string]string{"PACKETS": "1", "PACKETS_REV": "1", "HTTP_REQUEST_URL": `"/one"`,
		"HTTP_RESPONSE_STATUS_CODE": "200"})
	// The successor is a copy of the old flow: same direction, TIME_FIRST =
	// the old flow's TIME_LAST (the response at t0+1s).
	checkFields(t, recs[1].rec, map[string]string{"PACKETS": "1", "PACKETS_REV": "1", "SRC_PORT": "50000",
		"HTTP_REQUEST_URL": `"/two"`, "HTTP_RESPONSE_STATUS_CODE": "304", "HTTP_REQUEST_HOST": `""`,
		"TIME_FIRST": "2024-05-01T12:00:01.000000", "TIME_LAST": "2024-05-01T12:00:03.000000"})
}

func TestHTTPSecondResponseSplitsAndKeepsDirection(t *testing.T) {
	m := newTestMeter(t, Config{Plugins: []string{"http"}})
	m.packet(t0, tcp(true, 50000, 80, 0x18, httpReq("/")))
	m.packet(t0.Add(time.Second), tcp(false, 80, 50000, 0x18, httpResp("200")))
	m.packet(t0.Add(2*time.Second), tcp(false, 80, 50000, 0x18, httpResp("500")))
	recs := m.flush()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	checkFields(t, recs[1].rec, map[string]string{"SRC_PORT": "50000", "PACKETS": "0", "PACKETS_REV": "1",
		"HTTP_RESPONSE_STATUS_CODE": "500", "HTTP_REQUEST_URL": `""`})
}

func TestHTTPRetransmissionSplits(t *testing.T) {
	req := httpReq("/same", "Host: h")
	recs := httpConv(t, req, nil, req)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (a retransmitted request splits the flow)", len(recs))
	}
}

func TestHTTPSplitHeadersKeepPartialFieldsInTheFlow(t *testing.T) {
	// The request's headers are cut (no "\r\n" at the end): the parse
	// fails but keeps method, URL and Host; the response then attaches
	// them to this flow.
	req := []byte("GET /big HTTP/1.1\r\nHost: h.example\r\nCookie: aaaaa")
	recs := httpConv(t, req, httpResp("200"))
	if len(recs) != 1 || recs[0].ext == 0 {
		t.Fatalf("records %+v", recs)
	}
	checkFields(t, recs[0].rec, map[string]string{"HTTP_REQUEST_URL": `"/big"`, "HTTP_REQUEST_HOST": `"h.example"`,
		"HTTP_RESPONSE_STATUS_CODE": "200"})
	// Without a later message the flow has no HTTP record.
	if recs := httpConv(t, req); recs[0].ext != 0 {
		t.Errorf("failed request alone attached a record: %v", recs[0].rec)
	}
}

func TestHTTPPartialFieldsDoNotLeakIntoOtherFlows(t *testing.T) {
	// ipfixprobe leaves a failed request's fields in a scratch record that
	// the next response of any flow picks up. Ours stay in their flow.
	m := newTestMeter(t, Config{Plugins: []string{"http"}})
	m.packet(t0, tcp(true, 50000, 80, 0x18, []byte("GET /leak HTTP/1.1\r\nHost: leak.example\r\nX: y")))
	m.packet(t0, tcp(false, 80, 50001, 0x18, httpResp("200")))
	for _, r := range m.flush() {
		if r.rec["DST_PORT"] == "50001" {
			checkFields(t, r.rec, map[string]string{"HTTP_REQUEST_URL": `""`, "HTTP_REQUEST_HOST": `""`, "HTTP_RESPONSE_STATUS_CODE": "200"})
		}
	}
}

func TestHTTPRunningOffThePayloadIsSuccess(t *testing.T) {
	recs := httpConv(t, []byte("GET /x HTTP/1.1\r\nHost: h\r\n"))
	if recs[0].ext == 0 {
		t.Fatal("request whose payload ends after a header line not parsed")
	}
	checkFields(t, recs[0].rec, map[string]string{"HTTP_REQUEST_HOST": `"h"`})
}

// TestHTTPFieldLimits: each field is cut to its buffer.
func TestHTTPFieldLimits(t *testing.T) {
	long := strings.Repeat("v", 300)
	recs := httpConv(t, httpReq("/", "Host: "+long, "User-Agent: "+long, "Referer: "+long),
		httpResp("200", "Server: "+long, "Content-Type: "+long))
	checkFields(t, recs[0].rec, map[string]string{
		"HTTP_REQUEST_HOST":          `"` + long[:63] + `"`,
		"HTTP_REQUEST_AGENT":         `"` + long[:127] + `"`,
		"HTTP_REQUEST_REFERER":       `"` + long[:127] + `"`,
		"HTTP_RESPONSE_SERVER":       `"` + long[:127] + `"`,
		"HTTP_RESPONSE_CONTENT_TYPE": `"` + long[:31] + `"`,
	})
}

// TestHTTPRequestParseFailures: a request that fails gives no record (the
// flow has no other message).
func TestHTTPRequestParseFailures(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		record  bool
	}{
		{"no \\r\\n after the request line", "GET / HTTP/1.1", false},
		{"listed method without HTTP after the second space", "GET / XTTP/1.1\r\n\r\n", false},
		{"first space after 32 bytes, method not listed", strings.Repeat("M", 33) + " / HTTP/1.1\r\n\r\n", false},
		{"a NUL before the header line's \\r\\n", "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", false},
		{"no ':' left in the payload", "GET / HTTP/1.1\r\nHost\r\n\r\n", false},
		{"a line without ':' takes the next line's", "GET / HTTP/1.1\r\nNoColon\r\nHost: h\r\n\r\n", true},
		{"header block ends at an empty line", "GET / HTTP/1.1\r\nHost: h\r\n\r\nnot a header", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := httpConv(t, []byte(tc.payload))
			if got := recs[0].ext != 0; got != tc.record {
				t.Errorf("record %v, want %v: %v", got, tc.record, recs[0].rec)
			}
		})
	}
}

// TestHTTPParsesClearOnlyTheirOwnHeaders: a request clears HOST, AGENT and
// REFERER before its headers, a response CONTENT_TYPE, SERVER and
// SET_COOKIE; neither clears the other kind's fields.
func TestHTTPParsesClearOnlyTheirOwnHeaders(t *testing.T) {
	failedReq := []byte("GET /first HTTP/1.1\r\nHost: stale.example\r\nX: cut")
	failedResp := []byte("HTTP/1.1 500 X\r\nServer: stale/1\r\nX: cut")
	recs := httpConv(t, failedReq, failedResp, httpReq("/second", "User-Agent: ua"))
	if len(recs) != 1 || recs[0].ext == 0 {
		t.Fatalf("records %+v", recs)
	}
	checkFields(t, recs[0].rec, map[string]string{
		"HTTP_REQUEST_URL": `"/second"`, "HTTP_REQUEST_HOST": `""`, "HTTP_REQUEST_AGENT": `"ua"`,
		"HTTP_RESPONSE_STATUS_CODE": "500", "HTTP_RESPONSE_SERVER": `"stale/1"`,
	})
}

// TestHTTPAnyPortAndUDP: no port or protocol check beyond TCP or UDP.
func TestHTTPAnyPortAndUDP(t *testing.T) {
	m := newTestMeter(t, Config{Plugins: []string{"http"}})
	m.packet(t0, udp(true, 40000, 6000, httpReq("/udp")))
	m.packet(t0, tcp(true, 40001, 12345, 0x18, httpReq("/tcp")))
	for _, r := range m.flush() {
		if r.ext == 0 {
			t.Errorf("no HTTP record: %v", r.rec)
		}
	}
}

// TestHTTPMethodAndURLAreCStrings: a NUL byte ends the exported value.
func TestHTTPMethodAndURLAreCStrings(t *testing.T) {
	recs := httpConv(t, []byte("GET /a\x00b HTTP/1.1\r\nHost: h\r\n\r\n"))
	checkFields(t, recs[0].rec, map[string]string{"HTTP_REQUEST_URL": `"/a"`, "HTTP_REQUEST_HOST": `"h"`})
}
