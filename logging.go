package main

import (
	"context"
	"log/slog"
)

// utcHandler passes slog records on with their time in UTC, as the
// exporter's own lines have it, whatever the machine's time zone.
type utcHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h utcHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Time = r.Time.UTC()
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h utcHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return utcHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h utcHandler) WithGroup(name string) slog.Handler {
	return utcHandler{h.Handler.WithGroup(name)}
}
