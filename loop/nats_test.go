package loop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// authServer starts a real nats-server that requires the given credentials.
func authServer(t *testing.T, opts server.Options) string {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", server.RANDOM_PORT, true, true
	srv, err := server.NewServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL()
}

func TestConnectAuth(t *testing.T) {
	userURL := authServer(t, server.Options{Username: "lab", Password: "s3cret"})
	tokenURL := authServer(t, server.Options{Authorization: "tok-123"})
	cases := []struct {
		name    string
		url     string
		cfg     func(*NATSConfig)
		wantErr string
	}{
		{"user and password", userURL, func(c *NATSConfig) { c.User, c.Password = "lab", "s3cret" }, ""},
		{"wrong password", userURL, func(c *NATSConfig) { c.User, c.Password = "lab", "nope" }, "Authorization Violation"},
		{"no credentials", userURL, func(*NATSConfig) {}, "Authorization Violation"},
		{"token", tokenURL, func(c *NATSConfig) { c.Token = "tok-123" }, ""},
		{"wrong token", tokenURL, func(c *NATSConfig) { c.Token = "tok-999" }, "Authorization Violation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultNATSConfig()
			cfg.URL = c.url
			c.cfg(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("config: %v", err)
			}
			nc, err := Connect(c.url, &cfg, zerolog.Nop())
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				nc.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "cannot connect to") {
				t.Fatalf("want an error naming the server and %q, got %v", c.wantErr, err)
			}
		})
	}
}

func TestNATSConfigValidate(t *testing.T) {
	cfg := DefaultNATSConfig()
	cfg.URL = "nats://h:4222"
	cfg.User, cfg.Token = "u", "t"
	cfg.Creds = filepath.Join(t.TempDir(), "missing.creds")
	cfg.TLS.Cert = "x.pem"
	cfg.ConnectWait = 0
	err := cfg.Validate()
	for _, want := range []string{"token: give either", "password: user and password go together", "tls.key: cert and key go together", "creds: stat", "tls.cert: stat", "connect_timeout: must be > 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

// TestDecoderParamsFile: a run saves its fitted decoder, and a second run
// loads it (fit: file) and decodes from the first bin, with no calibration.
func TestDecoderParamsFile(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	params := filepath.Join(t.TempDir(), "kalman.json")
	cfg := testConfig(t, 8*time.Second)
	cfg.NATS.URL = srv.URL()
	cfg.Decoder.Save = params
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	first, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.CalibrationBins != 250 || first.Commands != 150 {
		t.Fatalf("first run: calibration %d bins, %d commands; want 250 and 150", first.CalibrationBins, first.Commands)
	}
	cfg.Decoder.Fit, cfg.Decoder.Params, cfg.Decoder.Save = "file", params, ""
	// The same seed is the same brain (the same tuning curves), which is
	// what a saved decoder is for.
	l, err = Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	second, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second.CalibrationBins != 0 || second.Commands != second.Bins || second.Commands != 400 {
		t.Fatalf("with a parameter file: calibration bins %d, commands %d of %d bins; want 0 and every bin (400)", second.CalibrationBins, second.Commands, second.Bins)
	}
	if second.R2Vel == nil || *second.R2Vel < 0.6 {
		t.Fatalf("R² with loaded parameters %v", second.R2Vel)
	}
}

// selfSignedCA writes a CA certificate and a server certificate for
// 127.0.0.1 signed by it, and returns the CA path and the server TLS config.
func selfSignedCA(t *testing.T) (caPath string, serverTLS *tls.Config) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bciloop test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caPath = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caPath, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

// TestConnectTLS: a TLS-only server is reached with the configured CA, and
// refused without it.
func TestConnectTLS(t *testing.T) {
	ca, stls := selfSignedCA(t)
	url := authServer(t, server.Options{TLSConfig: stls, TLS: true, TLSTimeout: 2})
	url = strings.Replace(url, "nats://", "tls://", 1)
	cfg := DefaultNATSConfig()
	cfg.URL, cfg.TLS.CA = url, ca
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	nc, err := Connect(url, &cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	if !nc.TLSRequired() {
		t.Error("connection is not TLS")
	}
	nc.Close()
	cfg.TLS.CA = ""
	if _, err := Connect(url, &cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: want a certificate error, got %v", err)
	}
}
