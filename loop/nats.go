package loop

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// NATSConfig selects the NATS server. With no URL, the loop starts an
// embedded nats-server listening on Listen (host:port; port 0 picks a free
// one) and prints its URL at start.
type NATSConfig struct {
	URL           string        `yaml:"url"`              // external server(s), comma-separated; empty = embedded
	Listen        string        `yaml:"listen"`           // embedded server address
	Name          string        `yaml:"name"`             // client connection name
	User          string        `yaml:"user"`             // user/password authentication
	Password      string        `yaml:"password"`         //
	Token         string        `yaml:"token"`            // token authentication
	Creds         string        `yaml:"creds"`            // credentials file (JWT + NKey)
	TLS           TLSConfig     `yaml:"tls"`              // TLS to an external server
	ConnectWait   time.Duration `yaml:"connect_timeout"`  // initial connect timeout
	ReconnectWait time.Duration `yaml:"reconnect_wait"`   // pause between reconnect attempts
	ReconnectBuf  int           `yaml:"reconnect_buffer"` // bytes buffered while reconnecting; publishes beyond fail and are counted
	// StoreDir, when set, runs JetStream in the embedded server with file
	// storage in this folder (sessions, README "Sessions").
	StoreDir string `yaml:"store_dir"`
}

// TLSConfig holds client TLS files.
type TLSConfig struct {
	CA       string `yaml:"ca"`
	Cert     string `yaml:"cert"`
	Key      string `yaml:"key"`
	Insecure bool   `yaml:"insecure_skip_verify"`
}

// DefaultNATSConfig returns the defaults: embedded server on a free loopback port.
func DefaultNATSConfig() NATSConfig {
	return NATSConfig{
		Listen:        "127.0.0.1:0",
		Name:          "bciloop",
		ConnectWait:   2 * time.Second,
		ReconnectWait: 250 * time.Millisecond,
		ReconnectBuf:  8 << 20,
	}
}

// Validate reports every problem with c.
func (c *NATSConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen: %q is not host:port: %v", c.Listen, err))
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("listen: port %q must be 0–65535", port))
		}
		if c.StoreDir != "" {
			if fi, err := os.Stat(c.StoreDir); err == nil && !fi.IsDir() {
				errs = append(errs, fmt.Errorf("store_dir: %s is not a folder", c.StoreDir))
			}
		}
		if c.User != "" || c.Token != "" || c.Creds != "" || c.TLS.CA != "" || c.TLS.Cert != "" {
			errs = append(errs, errors.New("url: authentication and TLS options need an external server url"))
		}
	}
	if c.URL != "" && c.StoreDir != "" {
		errs = append(errs, errors.New("store_dir: is for the embedded server; an external server (url) keeps JetStream in its own store"))
	}
	if c.User != "" && c.Token != "" {
		errs = append(errs, errors.New("token: give either user/password or a token, not both"))
	}
	if (c.User == "") != (c.Password == "") {
		errs = append(errs, errors.New("password: user and password go together"))
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		errs = append(errs, errors.New("tls.key: cert and key go together"))
	}
	for key, path := range map[string]string{"creds": c.Creds, "tls.ca": c.TLS.CA, "tls.cert": c.TLS.Cert, "tls.key": c.TLS.Key} {
		if path != "" {
			if _, err := os.Stat(path); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", key, err))
			}
		}
	}
	if c.ConnectWait <= 0 {
		errs = append(errs, errors.New("connect_timeout: must be > 0"))
	}
	if c.ReconnectWait <= 0 {
		errs = append(errs, errors.New("reconnect_wait: must be > 0"))
	}
	if c.ReconnectBuf < 0 {
		errs = append(errs, errors.New("reconnect_buffer: must be ≥ 0"))
	}
	return errors.Join(errs...)
}

// EmbeddedServer is an in-process nats-server.
type EmbeddedServer struct {
	srv  *server.Server
	lock *os.File // the store folder's lock (session_storelock_*.go), or nil
}

// StartEmbedded starts a nats-server on listen (host:port, port 0 for a free
// one) and waits until it accepts connections.
func StartEmbedded(listen string) (*EmbeddedServer, error) { return StartEmbeddedStore(listen, "") }

// StartEmbeddedStore is StartEmbedded with JetStream on file storage in
// storeDir (created if needed) when storeDir is not empty. A server started
// again on the same folder finds its streams as they were.
func StartEmbeddedStore(listen, storeDir string) (*EmbeddedServer, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: listen %q: bad port", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{Host: host, Port: port, NoSigs: true, NoLog: true, MaxPayload: 8 << 20}
	if storeDir != "" {
		if err := os.MkdirAll(storeDir, 0o755); err != nil {
			return nil, fmt.Errorf("embedded nats: store_dir: %w", err)
		}
		opts.JetStream, opts.StoreDir = true, storeDir
		// fsync the store every second rather than nats-server's 2 min
		// default: a crash of the machine then loses at most about a
		// second of acknowledged session messages (a crash of the
		// process alone loses none: they are written at once).
		opts.SyncInterval = time.Second
	}
	var lock *os.File
	if storeDir != "" {
		if lock, err = lockStore(storeDir); err != nil {
			return nil, err
		}
	}
	unlock := func() {
		if lock != nil {
			lock.Close()
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		unlock()
		return nil, fmt.Errorf("embedded nats: not ready on %s within 5s (is the port in use?)", listen)
	}
	return &EmbeddedServer{srv: srv, lock: lock}, nil
}

// URL returns the client URL of the server.
func (e *EmbeddedServer) URL() string { return e.srv.ClientURL() }

// InProcess returns the client option that connects to this server through
// an in-memory pipe instead of loopback TCP: no socket system calls and no
// network poller on the publisher's side.
func (e *EmbeddedServer) InProcess() nats.Option { return nats.InProcessServer(e.srv) }

// Shutdown stops the server and waits for it.
func (e *EmbeddedServer) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	if e.lock != nil {
		e.lock.Close()
		e.lock = nil
	}
}

// Connect opens a client connection to url with the options of c. The
// connection reconnects for ever on server loss, buffering up to
// c.ReconnectBuf bytes meanwhile; connection events are logged on log.
func Connect(url string, c *NATSConfig, log zerolog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.Timeout(c.ConnectWait),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(c.ReconnectWait),
		nats.ReconnectBufSize(c.ReconnectBuf),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() || nc.IsDraining() {
				return // our own Close or Drain
			}
			log.Warn().Err(err).Msg("nats disconnected; reconnecting")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("nats reconnected")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn().Err(err).Msg("nats async error")
		}),
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(c.TLS.CA))
	}
	if c.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(c.TLS.Cert, c.TLS.Key))
	}
	if c.TLS.Insecure {
		opts = append(opts, nats.Secure(&tls.Config{InsecureSkipVerify: true}))
	}
	opts = append(opts, extra...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: cannot connect to %s: %w", redactURL(url), err)
	}
	return nc, nil
}

// redactURL hides credentials in a URL for error messages.
func redactURL(u string) string {
	i, j := strings.Index(u, "://"), strings.LastIndex(u, "@")
	if i >= 0 && j > i+3 {
		return u[:i+3] + "***" + u[j:]
	}
	return u
}
