//go:build unix

package audit

import (
	"context"
	"fmt"
	"log/syslog"
)

// localSyslogAnchor sends to the local syslog daemon (log/syslog: the
// /dev/log, /var/run/syslog or /var/run/log socket), dialled at the first
// note and again after an error. A blocked socket is not bounded by the
// context: its worker is then left behind at Close (see stopAnchorWorkers).
type localSyslogAnchor struct {
	w *syslog.Writer
}

func newLocalSyslogAnchor() (anchor, error) { return &localSyslogAnchor{}, nil }

func (a *localSyslogAnchor) publish(_ context.Context, origin string, note []byte) error {
	if a.w == nil {
		w, err := syslog.New(syslog.LOG_AUTH|syslog.LOG_NOTICE, syslogTag)
		if err != nil {
			return fmt.Errorf("connect to the local syslog: %w", err)
		}
		a.w = w
	}
	if err := a.w.Notice(syslogLine(origin, note)); err != nil {
		_ = a.close()
		return fmt.Errorf("send to the local syslog: %w", err)
	}
	return nil
}

func (a *localSyslogAnchor) close() error {
	if a.w == nil {
		return nil
	}
	err := a.w.Close()
	a.w = nil
	return err
}

func (a *localSyslogAnchor) String() string { return "syslog:" }
