package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Legacy control-socket mode codes (spec §1.12).
const (
	codeConfig = "789123"
	codeStats  = "456987"
	codeInfo   = "113366"
	codeReload = "115599"
)

// maxControlClients bounds simultaneous control-socket connections.
const maxControlClients = 64

// Handler returns the HTTP API, /metrics, /healthz and the status page.
func (s *Supervisor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.StatsJSON())
	})
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.InfoJSON())
	})
	mux.HandleFunc("GET /v1/modules", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Modules())
	})
	mux.HandleFunc("GET /v1/modules/{name}", func(w http.ResponseWriter, r *http.Request) {
		st, ok := s.Module(r.PathValue("name"))
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Errorf("%w: module %q", ErrUnknown, r.PathValue("name")))
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /v1/modules/{name}/{action}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		var err error
		switch r.PathValue("action") {
		case "enable", "start":
			err = s.Enable(name)
		case "disable", "stop":
			err = s.Disable(name)
		case "restart":
			err = s.Restart(name)
		default:
			writeError(w, http.StatusNotFound, fmt.Errorf("unknown action %q (want enable, disable or restart)", r.PathValue("action")))
			return
		}
		if err != nil {
			writeError(w, errStatus(err), err)
			return
		}
		st, _ := s.Module(name)
		writeJSON(w, http.StatusAccepted, st)
	})
	mux.HandleFunc("POST /v1/profiles/{name}/{action}", func(w http.ResponseWriter, r *http.Request) {
		var on bool
		switch r.PathValue("action") {
		case "enable":
			on = true
		case "disable":
		default:
			writeError(w, http.StatusNotFound, fmt.Errorf("unknown action %q (want enable or disable)", r.PathValue("action")))
			return
		}
		if err := s.SetProfile(r.PathValue("name"), on); err != nil {
			writeError(w, errStatus(err), err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"profile": r.PathValue("name"), "enabled": on})
	})
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		res := s.Reload(r.URL.Query().Get("dry_run") == "1")
		code := http.StatusOK
		if !res.Applied && !res.DryRun || len(res.Errors) > 0 {
			code = http.StatusUnprocessableEntity
		}
		writeJSON(w, code, res)
	})
	mux.HandleFunc("GET /v1/supervisor", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Info())
	})
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.URL.Query().Get("rendered") == "1" {
			b, err := RenderYAML(s.Config())
			if err != nil {
				writeError(w, http.StatusInternalServerError, err)
				return
			}
			w.Write(b)
			return
		}
		io.WriteString(w, s.LoadedConfigText())
	})
	mux.HandleFunc("GET /v1/events", s.serveEvents)
	mux.HandleFunc("GET /v1/logs/{name}", s.serveLogs)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(s.Metrics())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !s.Healthy() {
			http.Error(w, "control loop stalled", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /", webHandler())
	return mux
}

func errStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnknown):
		return http.StatusNotFound
	case errors.Is(err, ErrRejected):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]any{"error": err.Error(), "details": []string{}})
}

func (s *Supervisor) serveEvents(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	var ch <-chan Event
	if r.URL.Query().Get("follow") == "1" {
		var cancel func()
		ch, cancel = s.events.Subscribe()
		defer cancel()
	}
	for _, e := range s.events.Recent(after) {
		enc.Encode(e)
		after = e.Seq
	}
	if ch == nil {
		return
	}
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case e := <-ch:
			if e.Seq <= after {
				continue
			}
			if enc.Encode(e) != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

// serveLogs sends a module's stdout or stderr file (or, for the names
// "supervisor", "events" and "stats", the supervisor's own files).
func (s *Supervisor) serveLogs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	dir := s.Config().Settings.LogsDir
	var path string
	switch name {
	case "supervisor":
		path = filepath.Join(dir, "supervisor_log")
	case "events":
		path = filepath.Join(dir, "modules_events")
	case "stats":
		path = filepath.Join(dir, "modules_statistics")
	default:
		if _, ok := s.Module(name); !ok {
			writeError(w, http.StatusNotFound, fmt.Errorf("%w: module %q", ErrUnknown, name))
			return
		}
		stream := r.URL.Query().Get("stream")
		if stream == "" {
			stream = "stdout"
		}
		if stream != "stdout" && stream != "stderr" {
			writeError(w, http.StatusBadRequest, fmt.Errorf("stream %q: want stdout or stderr", stream))
			return
		}
		path = filepath.Join(dir, "modules_logs", name+"_"+stream)
	}
	f, err := os.Open(path)
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	tail, _ := strconv.Atoi(r.URL.Query().Get("tail"))
	if tail > 0 {
		if err := writeTail(w, f, tail); err != nil {
			return
		}
	} else if _, err := io.Copy(w, f); err != nil {
		return
	}
	if r.URL.Query().Get("follow") != "1" {
		return
	}
	fl, _ := w.(http.Flusher)
	buf := make([]byte, 32*1024)
	for {
		n, _ := f.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
			continue
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// writeTail writes the last n lines of f, leaving f at its end.
func writeTail(w io.Writer, f *os.File, n int) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	const chunk = 64 * 1024
	var data []byte
	for off := size; off > 0; {
		step := min(int64(chunk), off)
		off -= step
		b := make([]byte, step)
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return err
		}
		data = append(b, data...)
		if strings.Count(string(data), "\n") > n {
			break
		}
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		return err
	}
	_, err = io.WriteString(w, strings.Join(lines, ""))
	return err
}

// ListenControl opens the control socket: the legacy mode codes of the C
// supervisor (a digit first) and the HTTP API (anything else) on one UNIX
// socket. A socket that answers means another supervisor runs: that is an
// error; a stale file is replaced.
func ListenControl(path string, mode os.FileMode, group string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("supervisor: control socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("supervisor: control socket %s answers: another supervisor runs", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("supervisor: control socket: %w", err)
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("supervisor: control socket group: %w", err)
		}
		gid, _ := strconv.Atoi(g.Gid)
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("supervisor: control socket group: %w", err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("supervisor: control socket: %w", err)
	}
	return ln, nil
}

// chanListener hands connections that turned out to speak HTTP to an
// http.Server.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// peekConn is a connection whose first bytes were read already.
type peekConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// ServeControl serves the control socket until ctx ends.
func (s *Supervisor) ServeControl(ctx context.Context, ln net.Listener) error {
	hl := &chanListener{addr: ln.Addr(), ch: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(hl)
	go func() {
		<-ctx.Done()
		ln.Close()
		hl.Close()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	sem := make(chan struct{}, maxControlClients)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("supervisor: control socket: %w", err)
		}
		select {
		case sem <- struct{}{}:
		default:
			c.Close()
			continue
		}
		go func() {
			defer func() { <-sem }()
			s.serveControlConn(c, hl)
		}()
	}
}

func (s *Supervisor) serveControlConn(c net.Conn, hl *chanListener) {
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	if first[0] < '0' || first[0] > '9' {
		c.SetReadDeadline(time.Time{})
		select {
		case hl.ch <- &peekConn{Conn: c, r: br}:
		case <-hl.done:
			c.Close()
		}
		return
	}
	defer c.Close()
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	switch strings.TrimSpace(line) {
	case codeStats:
		c.Write(s.StatsJSON())
	case codeInfo:
		c.Write(s.InfoJSON())
	case codeReload:
		c.Close()
		res := s.Reload(false)
		s.log.Info("supervisor: reload requested on the control socket", zap.Bool("applied", res.Applied), zap.Strings("errors", res.Errors))
	case codeConfig:
		io.WriteString(c, "[WARNING] The interactive menu is not served by this supervisor. Use supcli status|enable|disable|restart|reload|logs instead.\n")
	default:
		s.log.Warn("supervisor: unknown control-socket mode code", zap.String("code", strings.TrimSpace(line)))
	}
}

// ServeHTTP serves the API on a TCP listener until ctx ends.
func (s *Supervisor) ServeHTTP(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("supervisor: http: %w", err)
	}
	return nil
}
