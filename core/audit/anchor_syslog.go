package audit

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Syslog anchors send each checkpoint as one message of facility auth
// (security and authorisation: routed by default syslog configurations to a
// file of its own, e.g. /var/log/auth.log, that unprivileged users cannot
// rewrite) and severity notice, tag syslogTag; syslogLine is the text.
const (
	syslogTag = "sovereign-audit"
	// syslogPriority is LOG_AUTH|LOG_NOTICE (RFC 5424: facility 4, severity 5).
	syslogPriority = 4<<3 | 5
)

// syslogLine is the message of a syslog anchor: one line,
//
//	checkpoint origin=<origin> size=<size> root=<base64 root> note=<base64 note>
//
// size and root are the note's second and third lines, for reading; note is
// the whole signed note, standard base64, to rebuild it (docs/audit-format.md).
func syslogLine(origin string, note []byte) string {
	var size, root string
	if lines := strings.SplitN(string(note), "\n", 4); len(lines) == 4 {
		size, root = lines[1], lines[2]
	}
	return fmt.Sprintf("checkpoint origin=%s size=%s root=%s note=%s",
		origin, size, root, base64.StdEncoding.EncodeToString(note))
}

// remoteSyslogAnchor sends to a syslog server over UDP or TCP, in the
// format of log/syslog's network writer ("<pri>timestamp host tag[pid]: msg",
// a newline at the end: RFC 6587 non-transparent framing on TCP), with the
// connection and the write bounded by the publication's context. The
// connection is kept, and dialled again after an error.
type remoteSyslogAnchor struct {
	network, addr, hostname string

	conn net.Conn
}

func (a *remoteSyslogAnchor) publish(ctx context.Context, origin string, note []byte) error {
	if a.conn == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, a.network, a.addr)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		a.conn = c
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(anchorTimeout)
	}
	if err := a.conn.SetWriteDeadline(deadline); err != nil {
		a.reset()
		return fmt.Errorf("set deadline: %w", err)
	}
	c := a.conn
	stop := context.AfterFunc(ctx, func() { _ = c.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	msg := fmt.Sprintf("<%d>%s %s %s[%d]: %s\n", syslogPriority, time.Now().Format(time.RFC3339),
		a.hostname, syslogTag, os.Getpid(), syslogLine(origin, note))
	if _, err := a.conn.Write([]byte(msg)); err != nil {
		a.reset()
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

func (a *remoteSyslogAnchor) reset() {
	_ = a.conn.Close()
	a.conn = nil
}

func (a *remoteSyslogAnchor) close() error {
	if a.conn == nil {
		return nil
	}
	err := a.conn.Close()
	a.conn = nil
	return err
}

func (a *remoteSyslogAnchor) String() string { return "syslog+" + a.network + "://" + a.addr }
