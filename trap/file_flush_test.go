package trap

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
)

// openFileOutput opens an f: output as a module or the daemon does, with
// its autoflush loop running.
func openFileOutput(t *testing.T, spec string, files *FileSet) *Output {
	t.Helper()
	sps, err := ParseIFCSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	out, err := OpenOutputFiles(sps[0], t.TempDir(), zap.NewNop(), files)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close(context.Background()) })
	return out
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// Records a file output accepted reach the file on the autoflush timer
// while the output stays open: a crash later loses nothing older.
func TestFileOutputAutoflushWritesOnTimer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "af.trapcap")
	out := openFileOutput(t, "f:"+path+":autoflush=50000", nil)
	if err := out.SetDataFormat(FormatUniRec, "uint32 X"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := out.Send(context.Background(), []byte{1, 2, 3, 4}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for out.Stats().Autoflushes == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing written 10 s after the send with autoflush=50000")
		}
		time.Sleep(10 * time.Millisecond)
	}
	in := mustInput(t, "f:"+path)
	defer in.Close()
	for i := range 3 {
		m, _, err := in.Recv(context.Background())
		if err != nil || len(m) != 4 {
			t.Fatalf("message %d: %x, %v", i, m, err)
		}
	}
	if fileSize(t, path) == 0 {
		t.Fatal("autoflush counted but the file is empty")
	}
	if st := out.Stats(); st.Autoflushes == 0 || st.SentMessages != 3 {
		t.Errorf("stats %+v: want an autoflush and 3 messages", st)
	}
}

// The default spec flushes on libtrap's 2 s timer too; autoflush=off
// leaves the buffer alone until it fills or the output closes.
func TestFileOutputAutoflushDefaultAndOff(t *testing.T) {
	dir := t.TempDir()
	def := openFileOutput(t, "f:"+filepath.Join(dir, "def.trapcap"), nil)
	off := openFileOutput(t, "f:"+filepath.Join(dir, "off.trapcap")+":autoflush=off", nil)
	for _, o := range []*Output{def, off} {
		if err := o.SetDataFormat(FormatUniRec, "uint32 X"); err != nil {
			t.Fatal(err)
		}
		if err := o.Send(context.Background(), []byte{1, 2, 3, 4}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(DefaultAutoflush + 10*time.Second)
	for def.Stats().Autoflushes == 0 || fileSize(t, filepath.Join(dir, "def.trapcap")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the default autoflush wrote nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := fileSize(t, filepath.Join(dir, "off.trapcap")); n != 0 {
		t.Errorf("autoflush=off wrote %d bytes before close", n)
	}
	if err := off.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fileSize(t, filepath.Join(dir, "off.trapcap")) == 0 {
		t.Error("close did not write the buffer")
	}
}

func countMessages(t *testing.T, path string) int {
	t.Helper()
	in := mustInput(t, "f:"+path)
	defer in.Close()
	n := 0
	for {
		m, _, err := in.Recv(context.Background())
		if err != nil {
			t.Fatalf("after %d messages: %v", n, err)
		}
		if IsEOS(m) {
			return n
		}
		n++
	}
}

// An output reopened in mode w on the same path within the process (the
// daemon restarting it on a reload) continues the file; only a new
// process, or an output without the FileSet, truncates.
func TestFileOutputRestartInProcessDoesNotTruncate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		suffix   string
		shared   bool
		fmt2     string
		want     int
		wantName string
	}{
		{"same format continues", "", true, "uint32 X", 5, "w.trapcap"},
		{"buffer=off restart continues", ":buffer=off", true, "uint32 X", 5, "w.trapcap"},
		{"size rotation continues the last file", ":size=1", true, "uint32 X", 5, "w.trapcap.00000"},
		{"without a FileSet w truncates as libtrap", "", false, "uint32 X", 2, "w.trapcap"},
		{"another format switches files as a format change", "", true, "uint32 Y", 2, "w.trapcap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "w.trapcap")
			files := NewFileSet()
			run := func(spec string, n int) {
				set := files
				if !tc.shared {
					set = nil
				}
				out := openFileOutput(t, "f:"+path+tc.suffix, set)
				if err := out.SetDataFormat(FormatUniRec, spec); err != nil {
					t.Fatal(err)
				}
				for range n {
					if err := out.Send(context.Background(), []byte{1, 2, 3, 4}); err != nil {
						t.Fatal(err)
					}
				}
				if err := out.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			run("uint32 X", 3)
			run(tc.fmt2, 2)
			if got := countMessages(t, filepath.Join(dir, tc.wantName)); got != tc.want {
				t.Errorf("%s holds %d messages, want %d", tc.wantName, got, tc.want)
			}
		})
	}
}

// A file somebody else changed since the output stopped is not continued.
func TestFileOutputRestartAfterOutsideChangeStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.trapcap")
	files := NewFileSet()
	for i := range 2 {
		out := openFileOutput(t, "f:"+path, files)
		if err := out.SetDataFormat(FormatUniRec, "uint32 X"); err != nil {
			t.Fatal(err)
		}
		if err := out.Send(context.Background(), []byte{1, 2, 3, 4}); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("junk"))
			f.Close()
		}
	}
	if got := countMessages(t, path); got != 1 {
		t.Errorf("%d messages, want the 1 of the fresh file", got)
	}
}
