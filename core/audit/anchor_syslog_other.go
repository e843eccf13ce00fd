//go:build !unix

package audit

import "errors"

func newLocalSyslogAnchor() (anchor, error) {
	return nil, errors.New(`is "syslog:", but there is no local syslog on this system; use syslog+udp:// or syslog+tcp://`)
}
