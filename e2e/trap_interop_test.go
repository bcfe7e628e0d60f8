package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/nemeac"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/trap"
)

// interopIFC is one socket kind: the output and input IFC specs of the
// same endpoint, and how to see that the output listens.
type interopIFC struct {
	kind      string
	out, in   string
	listening func() bool
}

func interopIFCs(t *testing.T, sockDir string) []func(opts string) interopIFC {
	t.Helper()
	tlsFiles := writeTLSFiles(t)
	return []func(string) interopIFC{
		func(opts string) interopIFC {
			name := "interop"
			return interopIFC{"u", "u:" + name + opts, "u:" + name, func() bool {
				return testutil.UnixListening(filepath.Join(sockDir, "trap-"+name+".sock"))
			}}
		},
		func(opts string) interopIFC {
			port := freePort(t)
			return interopIFC{"t", "t:" + port + opts, "t:localhost:" + port, func() bool { p, _ := strconv.Atoi(port); return testutil.TCPListening(p) }}
		},
		func(opts string) interopIFC {
			port := freePort(t)
			return interopIFC{"T", "T:" + port + ":" + tlsFiles + opts, "T:localhost:" + port + ":" + tlsFiles, func() bool { p, _ := strconv.Atoi(port); return testutil.TCPListening(p) }}
		},
	}
}

// writeTLSFiles makes a CA and one key pair it signed (for localhost,
// usable by both ends, as libtrap's mutual TLS wants) and returns
// "KEY:CERT:CA" for a T: spec.
func writeTLSFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "flowgate interop CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("key.pem", "PRIVATE KEY", keyDER) + ":" + write("cert.pem", "CERTIFICATE", leafDER) + ":" + write("ca.pem", "CERTIFICATE", caDER)
}

// runPair starts the sender, waits until it listens, runs the receiver
// and waits for both; it fails the test when either fails. cSender says
// the sender is a C module.
func runPair(t *testing.T, ifc interopIFC, sender, receiver *exec.Cmd, cSender bool) {
	t.Helper()
	var serr, rerr bytes.Buffer
	sender.Stderr, receiver.Stderr = &serr, &rerr
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	defer sender.Process.Kill()
	testutil.WaitFor(t, ifc.kind+" output listening", ifc.listening)
	if err := receiver.Run(); err != nil {
		t.Fatalf("receiver %v: %v\n%s\nsender: %s", receiver.Args, err, rerr.String(), serr.String())
	}
	done := make(chan error, 1)
	go func() { done <- sender.Wait() }()
	// Ours must end once its receiver has ended: a generous bound. A C
	// sender may stay blocked for good, so it gets 5 s and is killed.
	grace := testutil.WaitTimeout
	if cSender {
		grace = 5 * time.Second
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sender %v: %v\n%s", sender.Args, err, serr.String())
		}
	case <-time.After(grace):
		// The receiver has everything by now. libtrap's finalize can stay
		// blocked after its last client left (trap-wire.md §5.3: a WAIT
		// sender may never return); ours must not.
		if !cSender {
			t.Fatalf("sender %v still running %v after its receiver ended\n%s", sender.Args, grace, serr.String())
		}
		t.Logf("C sender %v still running 5 s after its receiver ended (libtrap's finalize); killed", sender.Args)
		sender.Process.Kill()
		<-done
	}
}

// C sender -> our receiver and our sender -> C receiver, over u:, t: and
// T:, with buffering on and off. Our logger must print what the C logger
// printed for the capture, and our traffic_repeater (whole containers,
// RecvBatch/SendBatch) must write back the capture byte for byte; the C
// logger must print the same text for what our logreplay (a Send per
// record) and our traffic_repeater send. One test per socket kind.
func TestTrapInteropUNIX(t *testing.T) { testTrapInterop(t, 0) }

// TestTrapInteropTCP is the interop over t:.
func TestTrapInteropTCP(t *testing.T) { testTrapInterop(t, 1) }

// TestTrapInteropTLS is the interop over T:.
func TestTrapInteropTLS(t *testing.T) { testTrapInterop(t, 2) }

// testTrapInterop runs the interop cases over the kind-th of interopIFCs.
func testTrapInterop(t *testing.T, kind int) {
	c := nemeac.Find(t)
	bin := binaries(t)
	golden := testutil.SharedTestdata(t, "trap")
	sockDir := socketDirOf(c)
	env := append(os.Environ(), "TRAP_SOCKET_DIR="+sockDir)
	goCmd := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.Env = env
		return cmd
	}
	mk := interopIFCs(t, sockDir)[kind]
	{
		for _, opts := range []string{":buffer=on", ":buffer=off"} {
			for _, set := range []string{"basic_flows", "strings"} {
				ifc := mk(opts)
				wantText, err := os.ReadFile(filepath.Join(golden, set+".logger.txt"))
				if err != nil {
					t.Fatal(err)
				}
				capture := filepath.Join(golden, set+".trapcap")
				csv := filepath.Join(golden, set+".csv")
				t.Run(fmt.Sprintf("%s%s/%s", ifc.kind, opts, set), func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
					defer cancel()

					// C traffic_repeater -> our logger.
					ifc := mk(opts)
					logger := goCmd(ctx, "logger", "-t", "-i", ifc.in)
					var out bytes.Buffer
					logger.Stdout = &out
					runPair(t, ifc, c.Command(ctx, "traffic_repeater", "-i", "f:"+capture+","+ifc.out), logger, true)
					if out.String() != string(wantText) {
						t.Errorf("C sender -> our logger printed\n%s\nwant\n%s", out.String(), wantText)
					}

					// C logreplay -> our traffic_repeater -> f: (containers whole).
					ifc = mk(opts)
					copyPath := filepath.Join(t.TempDir(), "copy.trapcap")
					runPair(t, ifc, c.Command(ctx, "logreplay", "-i", ifc.out, "-f", csv),
						goCmd(ctx, "traffic_repeater", "-i", ifc.in+",f:"+copyPath), true)
					if got, want := readFile(t, copyPath), readFile(t, capture); !bytes.Equal(got, want) {
						t.Errorf("C sender -> our traffic_repeater -> f: differs from %s.trapcap (%d bytes, want %d)", set, len(got), len(want))
					}

					// Our traffic_repeater (SendBatch) and our logreplay (Send) -> C logger.
					for _, sender := range [][]string{
						{"traffic_repeater", "-i", "f:" + capture + ",OUT"},
						{"logreplay", "-i", "OUT", "-f", csv},
					} {
						ifc = mk(opts)
						args := append([]string(nil), sender[1:]...)
						for i := range args {
							args[i] = strings.Replace(args[i], "OUT", ifc.out, 1)
						}
						clog := c.Command(ctx, "logger", "-t", "-i", ifc.in)
						var cout bytes.Buffer
						clog.Stdout = &cout
						runPair(t, ifc, goCmd(ctx, sender[0], args...), clog, false)
						if cout.String() != string(wantText) {
							t.Errorf("our %s -> C logger printed\n%s\nwant\n%s", sender[0], cout.String(), wantText)
						}
					}
				})
			}
		}
	}
}

// socketDirOf is the TRAP_SOCKET_DIR the C tools run with.
func socketDirOf(c *nemeac.Tools) string {
	dir := ""
	for _, kv := range c.Env {
		if v, ok := strings.CutPrefix(kv, "TRAP_SOCKET_DIR="); ok {
			dir = v
		}
	}
	return dir
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A client that disconnects in the middle of a container does not disturb
// the others: our u: output fans out to a C logger and to a raw client
// that reads the hello and part of the first container, then leaves. The
// C logger still prints every record, and since one client got every
// message the output counts none as dropped.
func TestTrapClientLeavesMidContainer(t *testing.T) {
	c := nemeac.Find(t)
	golden := testutil.SharedTestdata(t, "trap")
	sockDir := socketDirOf(c)
	capture := trapcap.Read(t, filepath.Join(golden, "basic_flows.trapcap"))
	recs, spec := capture.Records, capture.Spec
	const n = 30000 // about 20 containers
	for _, kind := range []string{"u", "t"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			outSpec, inSpec := "u:leave", "u:leave"
			if kind == "t" {
				port := freePort(t)
				outSpec, inSpec = "t:"+port, "t:localhost:"+port
			}
			sps, err := trap.ParseIFCSpec(outSpec)
			if err != nil {
				t.Fatal(err)
			}
			out, err := trap.OpenOutput(sps[0], sockDir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close(ctx)
			if err := out.SetDataFormat(trap.FormatUniRec, spec); err != nil {
				t.Fatal(err)
			}
			clog := c.Command(ctx, "logger", "-t", "-i", inSpec)
			var cout, cerr bytes.Buffer
			clog.Stdout, clog.Stderr = &cout, &cerr
			if err := clog.Start(); err != nil {
				t.Fatal(err)
			}
			defer clog.Process.Kill()
			// The quitter: hello, then a container header and 1000 bytes of
			// its payload; then it closes.
			addr := filepath.Join(sockDir, "trap-leave.sock")
			network := "unix"
			if kind == "t" {
				network, addr = "tcp", strings.TrimPrefix(inSpec, "t:")
			}
			qc, err := net.Dial(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			quit := make(chan error, 1)
			go func() {
				defer qc.Close()
				r := bufio.NewReader(qc)
				var hdr [8]byte
				if _, err := io.ReadFull(r, hdr[:]); err != nil {
					quit <- err
					return
				}
				_, err := io.CopyN(io.Discard, r, int64(binary.BigEndian.Uint32(hdr[4:]))+trap.ContainerHeaderSize+1000)
				quit <- err
			}()
			testutil.WaitFor(t, "two clients", func() bool { return out.Stats().Clients == 2 })
			for i := range n {
				if err := out.Send(ctx, recs[i%len(recs)].Data); err != nil {
					t.Fatal(err)
				}
			}
			if err := out.SendEOS(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-quit; err != nil {
				t.Fatalf("quitter: %v", err)
			}
			if err := out.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if err := clog.Wait(); err != nil {
				t.Fatalf("C logger: %v\n%s", err, cerr.String())
			}
			lines := strings.Split(strings.TrimSuffix(cout.String(), "\n"), "\n")
			if len(lines) != n+1 {
				t.Fatalf("C logger printed %d records, want %d", len(lines)-1, n)
			}
			want := strings.Split(strings.TrimSuffix(string(readFile(t, filepath.Join(golden, "basic_flows.logger.txt"))), "\n"), "\n")
			for i, l := range lines[1:] {
				if w := want[1+i%len(recs)]; l != w {
					t.Fatalf("record %d: %q, want %q", i, l, w)
				}
			}
			if st := out.Stats(); st.DroppedMessages != 0 || st.SentMessages != n+1 {
				t.Errorf("output counters: sent %d, dropped %d; want %d and 0", st.SentMessages, st.DroppedMessages, n+1)
			}
		})
	}
}
