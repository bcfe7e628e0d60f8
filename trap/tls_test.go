package trap

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a key pair signed by ca into dir and returns key, cert and
// CA file paths.
func (ca *testCA) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (string, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		name + ".key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		name + ".crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		name + ".ca":  ca.pem,
	}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, name+".key"), filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".ca")
}

func TestTLSEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ca, otherCA := newTestCA(t, "trap test CA"), newTestCA(t, "other CA")
	sk, sc, sca := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	ck, cc, cca := ca.issue(t, dir, "client", x509.ExtKeyUsageClientAuth)
	bk, bc, _ := otherCA.issue(t, dir, "intruder", x509.ExtKeyUsageClientAuth)

	e := testEnv(t)
	out, so := newTestOutput(t, e, fmt.Sprintf("T:0:%s:%s:%s", sk, sc, sca))
	port := so.addr().(*net.TCPAddr).Port
	if err := out.SetDataFormat(FormatUniRec, "uint32 X"); err != nil {
		t.Fatal(err)
	}
	msgs := manyMessages(500)

	tests := []struct {
		name    string
		spec    string
		refused bool
	}{
		{"client with a certificate of the CA", fmt.Sprintf("T:localhost:%d:%s:%s:%s", port, ck, cc, cca), false},
		{"short form connects to localhost", fmt.Sprintf("T:%d:%s:%s:%s", port, ck, cc, cca), false},
		{"client certificate from another CA is refused", fmt.Sprintf("T:127.0.0.1:%d:%s:%s:%s", port, bk, bc, cca), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := newTestInput(t, e, tc.spec)
			ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
			defer cancel()
			if tc.refused {
				in.SetTimeout(Timeout(300000))
				_, _, err := in.Recv(ctx)
				if !errors.Is(err, ErrTimeout) {
					t.Fatalf("refused client: %v, want ErrTimeout", err)
				}
				if n := so.stats().Clients; n != 0 {
					t.Errorf("output registered %d clients", n)
				}
				return
			}
			errc := make(chan error, 1)
			go func() {
				// A new client only gets what is sent after it joined, and
				// the input connects on its first Recv.
				for so.stats().Clients == 0 && ctx.Err() == nil {
					time.Sleep(2 * time.Millisecond)
				}
				for _, m := range msgs {
					if err := out.Send(ctx, m); err != nil {
						errc <- err
						return
					}
				}
				errc <- out.Flush(ctx)
			}()
			for i, want := range msgs {
				m, _, err := in.Recv(ctx)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if !bytes.Equal(m, want) {
					t.Fatalf("message %d differs", i)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			in.Close()
			waitClients(t, so, 0)
		})
	}
}

// libtrap's TLS server names CAs in its certificate request that need not
// be the issuer of our certificate, and drops a client that sends none. Our
// input presents its certificate whatever the server names, as OpenSSL does.
func TestTLSInputSendsCertificateWhateverCAsTheServerNames(t *testing.T) {
	dir := t.TempDir()
	ca, otherCA := newTestCA(t, "trap test CA"), newTestCA(t, "named but unrelated CA")
	sk, sc, _ := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	ck, cc, cca := ca.issue(t, dir, "client", x509.ExtKeyUsageClientAuth)
	cert, err := tls.LoadX509KeyPair(sc, sk)
	if err != nil {
		t.Fatal(err)
	}
	named := x509.NewCertPool()
	named.AddCert(otherCA.cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert, // the request names otherCA
		ClientCAs:    named,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stream := AppendHello(nil, Hello{Format: FormatRaw})
	payload := AppendMessage(AppendMessage(nil, []byte("hello over TLS")), EOS)
	hdr := make([]byte, ContainerHeaderSize)
	PutContainerHeader(hdr, uint32(len(payload)), 0, 2)
	stream = append(append(stream, hdr...), payload...)
	peerCerts := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			peerCerts <- -1
			return
		}
		peerCerts <- len(tc.ConnectionState().PeerCertificates)
		tc.Write(stream)
		io.Copy(io.Discard, tc)
	}()
	in, _ := newTestInput(t, testEnv(t), fmt.Sprintf("T:localhost:%d:%s:%s:%s", ln.Addr().(*net.TCPAddr).Port, ck, cc, cca))
	in.SetRequiredFormat(FormatRaw, "")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	m, _, err := in.Recv(ctx)
	if err != nil || string(m) != "hello over TLS" {
		t.Fatalf("Recv: %q, %v", m, err)
	}
	if n := <-peerCerts; n != 1 {
		t.Errorf("server saw %d client certificates, want 1", n)
	}
}
