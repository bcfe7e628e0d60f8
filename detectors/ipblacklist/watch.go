package ipblacklist

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Files names the blacklist files of a filter.
type Files struct {
	V4, V6 string // "" for none
}

// Load reads the lists. The IPv4 file is required; a missing IPv6 file
// gives an empty IPv6 list and a warning (as in C). Bad lines come back
// as warnings.
func (fs Files) Load() (*Lists, []error, error) {
	v6 := fs.V6
	var warns []error
	if v6 != "" {
		if _, err := os.Stat(v6); err != nil {
			warns = append(warns, fmt.Errorf("IPv6 blacklist: %w; the IPv6 list is empty", err))
			v6 = ""
		}
	}
	l, w, err := LoadFiles(fs.V4, v6)
	return l, append(warns, w...), err
}

// Config is the part of ipblacklistfilter's XML configuration
// (ipdetect_config.xml) the filter uses.
type Config struct {
	Files
	Watch bool // watch_blacklists: reload when a list file changes
}

// ParseXMLConfig reads the C module's configuration: a <configuration>
// with <struct><element name="...">value</element>... Missing elements
// keep their defaults ("-" files as in C, watching on).
func ParseXMLConfig(r io.Reader) (Config, error) {
	var doc struct {
		Structs []struct {
			Elements []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:",chardata"`
			} `xml:"element"`
		} `xml:"struct"`
	}
	c := Config{Files: Files{V4: "-", V6: "-"}, Watch: true}
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return c, fmt.Errorf("XML configuration: %w", err)
	}
	for _, s := range doc.Structs {
		for _, e := range s.Elements {
			switch e.Name {
			case "ipv4_blacklist_file":
				c.V4 = e.Value
			case "ipv6_blacklist_file":
				c.V6 = e.Value
			case "watch_blacklists":
				c.Watch = e.Value == "true" // only the exact text enables it (C)
			}
		}
	}
	return c, nil
}

// settle is how long the files must stay quiet after a change before
// they are read: a writer that is not atomic is given time to finish.
const settle = 200 * time.Millisecond

// Events receives what reloads do.
type Events struct {
	Warn     func(error)      // bad lines, a failed reload, watch errors
	Reloaded func(v4, v6 int) // a reload replaced the lists
}

// Watch reloads the filter's lists whenever one of the files is written,
// created or renamed over, until ctx ends. A reload that cannot read the
// IPv4 file keeps the lists in force. It returns once the watch is set
// up; the watching goes on in a goroutine, which closes done when it
// stops.
func Watch(ctx context.Context, f *Filter, fs Files, ev Events) (done <-chan struct{}, err error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("blacklist watch: %w", err)
	}
	names := map[string]bool{}
	dirs := map[string]bool{}
	for _, p := range []string{fs.V4, fs.V6} {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("blacklist watch: %w", err)
		}
		names[abs] = true
		dirs[filepath.Dir(abs)] = true
	}
	for d := range dirs {
		// The directory, not the file: a list replaced by rename keeps being watched.
		if err := w.Add(d); err != nil {
			w.Close()
			return nil, fmt.Errorf("blacklist watch %s: %w", d, err)
		}
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer w.Close()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case e, ok := <-w.Events:
				if !ok {
					return
				}
				if names[filepath.Clean(e.Name)] && e.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					timer.Reset(settle)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				ev.Warn(fmt.Errorf("blacklist watch: %w", err))
			case <-timer.C:
				Reload(f, fs, ev)
			}
		}
	}()
	return ch, nil
}

// ErrReloadFailed marks a reload that kept the old lists.
var ErrReloadFailed = errors.New("blacklist reload failed; the previous lists stay")

// Reload reads the files again and, if the IPv4 file could be read,
// replaces the filter's lists.
func Reload(f *Filter, fs Files, ev Events) bool {
	l, warns, err := fs.Load()
	for _, w := range warns {
		ev.Warn(w)
	}
	if err != nil {
		ev.Warn(fmt.Errorf("%w: %w", ErrReloadFailed, err))
		return false
	}
	f.SetLists(l)
	if ev.Reloaded != nil {
		ev.Reloaded(l.Len())
	}
	return true
}
