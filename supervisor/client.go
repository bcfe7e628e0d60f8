package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrConnect is returned when the supervisor's socket does not answer.
var ErrConnect = errors.New("could not connect to supervisor")

// Client talks to a running supervisor over its control socket: the
// legacy mode codes for -x, -i and -r, the HTTP API for the rest.
type Client struct {
	Socket string
	http   *http.Client
}

// NewClient returns a client of the control socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{Socket: path, http: &http.Client{Transport: tr}}
}

// Legacy sends a mode code and returns what the supervisor writes until it
// closes the connection or stays silent for 4 × 200 ms, as the C client
// reads.
func (c *Client) Legacy(code string) ([]byte, error) {
	conn, err := net.DialTimeout("unix", c.Socket, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConnect, err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, code+"\n"); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	buf := make([]byte, 64*1024)
	for {
		conn.SetReadDeadline(time.Now().Add(800 * time.Millisecond))
		n, err := conn.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.Bytes(), nil
		}
	}
}

// Do sends an API request and decodes a JSON answer into v (when v is not
// nil). A status of 400 or more is an error carrying the API's message.
func (c *Client) Do(method, path string, v any) (int, error) {
	resp, err := c.request(method, path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if v != nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, fmt.Errorf("supervisor answer: %w", err)
		}
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return resp.StatusCode, errors.New(e.Error)
		}
		return resp.StatusCode, errors.New(strings.TrimSpace(string(body)))
	}
	return resp.StatusCode, nil
}

// Stream copies a text answer (logs, events) to w until it ends.
func (c *Client) Stream(path string, w io.Writer) error {
	resp, err := c.request("GET", path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		b, _ := io.ReadAll(resp.Body)
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return errors.New(strings.TrimSpace(string(b)))
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

func (c *Client) request(method, path string) (*http.Response, error) {
	req, err := http.NewRequest(method, "http://supervisor"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %v", ErrConnect, err)
	}
	return resp, nil
}

// BriefStatus prints the brief status table of spec §3.4.1, with the
// restarts, uptime and last exit columns the Go supervisor adds.
func BriefStatus(mods []ModuleStatus, color bool) string {
	paint := func(s, code string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	maxIdx := 0
	for _, m := range mods {
		maxIdx = max(maxIdx, m.Idx)
	}
	d := len(fmt.Sprint(maxIdx))
	w := 11 + d
	pidW := 3
	for _, m := range mods {
		w = max(w, len("Profile: "+m.Profile)+1, len(fmt.Sprintf("   %*d | %s", d, m.Idx, m.Name))+1)
		pidW = max(pidW, len(fmt.Sprint(m.PID)))
	}
	var b strings.Builder
	b.WriteString(paint("--- [CONFIGURATION STATUS] ---", "1") + "\n")
	head := fmt.Sprintf("%-*s| enabled | status  | %-*s | restarts | uptime   | last exit", w, strings.Repeat(" ", d+4)+"| name", pidW, "PID")
	b.WriteString(paint(head, "1") + "\n")
	prof := ""
	first := true
	for _, m := range mods {
		if m.Profile != prof || first {
			if !first {
				b.WriteString("\n")
			}
			first = false
			prof = m.Profile
			pe := "false"
			pc := "31"
			if m.ProfileEnabled {
				pe, pc = "true", "32"
			}
			fmt.Fprintf(&b, "%s|  %s  |\n", paint(fmt.Sprintf("%-*s", w, "Profile: "+prof), "1"), paint(fmt.Sprintf("%-5s", pe), pc))
		}
		en, ec := "false", "31"
		if m.Enabled {
			en, ec = "true", "32"
		}
		st, sc := "stopped", "31"
		if m.PID != 0 {
			st, sc = "running", "32"
		}
		up, last := "-", "-"
		if m.PID != 0 {
			up = fmtUptime(m.UptimeS)
		}
		if m.LastExit != nil {
			last = m.LastExit.String()
		}
		if m.AutoDisabled.Disabled {
			last = "auto-disabled: " + m.AutoDisabled.Reason
		}
		fmt.Fprintf(&b, "%-*s|  %s  | %s | %-*d | %-8d | %-8s | %s\n", w, fmt.Sprintf("   %*d | %s", d, m.Idx, m.Name),
			paint(fmt.Sprintf("%-5s", en), ec), paint(st, sc), pidW, m.PID, m.RestartsInWindow, up, last)
	}
	b.WriteString("\n")
	return b.String()
}

func fmtUptime(s float64) string {
	d := time.Duration(s) * time.Second
	return d.String()
}

// DetailedStatus prints the detailed status of spec §3.4.2.
func DetailedStatus(mods []ModuleStatus) string {
	var b strings.Builder
	b.WriteString("--- [PRINTING CONFIGURATION] ---\n")
	prof := ""
	for i, m := range mods {
		if i == 0 || m.Profile != prof {
			prof = m.Profile
			state := "disabled"
			if m.ProfileEnabled {
				state = "enabled"
			}
			fmt.Fprintf(&b, "Profile: %s (%s)\n", prof, state)
		}
		en := "disabled"
		if m.Enabled {
			en = "enabled"
		}
		if m.PID == 0 {
			fmt.Fprintf(&b, "   %d | %s | %s | stopped\n", m.Idx, m.Name, en)
			continue
		}
		fmt.Fprintf(&b, "   %d | %s | %s | running | PID: %d\n", m.Idx, m.Name, en, m.PID)
		if !m.ServiceIFC.Connected {
			b.WriteString("      IFC service: not connected\n")
			continue
		}
		b.WriteString("      IFC service: connected\n")
		n := 0
		for _, in := range m.Inputs {
			conn := "disconnected"
			if num(in, "ifc_state") == 1 {
				conn = "connected"
			}
			fmt.Fprintf(&b, "      IFC %d:  IN; %s; %s; %s\n", n, ifcType(in), str(in, "ifc_id"), conn)
			n++
		}
		for _, out := range m.Outputs {
			fmt.Fprintf(&b, "      IFC %d:  OUT; %s; %s; num of clients: %d\n", n, ifcType(out), str(out, "ifc_id"), num(out, "num_clients"))
			n++
		}
	}
	b.WriteString("\n")
	return b.String()
}

// InfoText prints the supervisor info of spec §3.4.4.
func InfoText(in Info) string {
	return fmt.Sprintf(`--------------- INFO ---------------
Supervisor package version: %s
Started: %s
Logs directory path: %s
Configuration file: %s
Communication socket path: %s
TRAP socket directory: %s
Number of loaded modules: %d
Number of running modules: %d
`, in.Version, in.Started.Format(ctimeLayout), in.LogsDir, in.Config, in.Socket, in.TrapSocketDir, in.Loaded, in.Running)
}
