package trap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// loadTLSFiles reads the PEM key pair and the CA bundle of a T: interface.
func loadTLSFiles(keyFile, certFile, caFile string) (tls.Certificate, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("%w: loading TLS key %q and certificate %q: %v", ErrBadParams, keyFile, certFile, err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("%w: reading TLS CA file: %v", ErrBadParams, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return tls.Certificate{}, nil, fmt.Errorf("%w: CA file %q holds no PEM certificate", ErrBadParams, caFile)
	}
	return cert, pool, nil
}

// serverTLSConfig is the T: output side: libtrap runs SSL_VERIFY_PEER
// against the CA file, so clients must present a certificate the CA signed.
func serverTLSConfig(keyFile, certFile, caFile string) (*tls.Config, error) {
	cert, pool, err := loadTLSFiles(keyFile, certFile, caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// clientTLSConfig is the T: input side. Like libtrap (OpenSSL with
// SSL_VERIFY_PEER and no host name check configured) it verifies the
// server's chain against the CA file but not the host name, so NEMEA
// deployments whose certificates name something else keep working.
func clientTLSConfig(keyFile, certFile, caFile string) (*tls.Config, error) {
	cert, pool, err := loadTLSFiles(keyFile, certFile, caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		// Always present our certificate, as OpenSSL does. Go's default
		// sends none unless the chain matches the server's list of
		// acceptable CA names, and libtrap's server names something else
		// there: it then sees no peer certificate and drops us.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		MinVersion:           tls.VersionTLS12,
		InsecureSkipVerify:   true, // replaced by the chain check below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("trap: TLS server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
				Roots:         pool,
				Intermediates: inter,
				KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				return fmt.Errorf("trap: TLS server certificate: %w", err)
			}
			return nil
		},
	}, nil
}
