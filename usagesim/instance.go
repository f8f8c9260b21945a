package usagesim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Instance is a Server listening on a TCP address.
type Instance struct {
	// URL is the base URL of the API, e.g. http://127.0.0.1:8080.
	URL string
	// TokenURL is the URL of the OAuth token endpoint, URL + "/v2/token".
	TokenURL string
	// Server is the simulated API being served.
	Server *Server

	srv    *http.Server
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// shutdownGrace is how long Close waits for requests in flight to finish.
const shutdownGrace = 5 * time.Second

// Start listens on addr (for example "127.0.0.1:0" for a free loopback port)
// and serves s until Close.
func Start(s *Server, addr string) (*Instance, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("usagesim: listen on %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &Instance{
		URL:    "http://" + ln.Addr().String(),
		Server: s,
		srv: &http.Server{
			Handler:           s,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
		},
		cancel: cancel,
		done:   make(chan error, 1),
	}
	in.TokenURL = in.URL + tokenPath
	go func() { in.done <- in.srv.Serve(ln) }()
	return in, nil
}

// Close stops serving: it cancels requests in flight (such as Slow ones),
// waits for them to end and closes every connection. Calling it again returns
// the first result.
func (in *Instance) Close() error {
	in.once.Do(func() {
		in.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		err := in.srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, in.srv.Close())
			in.err = fmt.Errorf("usagesim: shut down %s: %w", in.URL, err)
		}
		if serr := <-in.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && in.err == nil {
			in.err = fmt.Errorf("usagesim: serve %s: %w", in.URL, serr)
		}
	})
	return in.err
}
