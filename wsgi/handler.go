package wsgi

import (
	"errors"
	"net/http"
)

// Handler serves requests with a WSGI application. Placeholder until the
// daemon-mode implementation lands.
type Handler struct{}

// New starts the workers described by cfg.
func New(cfg Config) (*Handler, error) { return nil, errors.New("wsgi: not implemented yet") }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
}

// Close stops the workers.
func (h *Handler) Close() error { return nil }
