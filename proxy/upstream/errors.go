package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrUnavailable is returned for a request to an upstream that is not
// connected: disabled, still starting, or restarting after a failure.
var ErrUnavailable = errors.New("upstream unavailable")

// ErrTimeout is returned when the upstream did not answer within the
// server's configured timeout.
var ErrTimeout = errors.New("upstream timed out")

// ErrTooLarge is returned when an upstream sends a message larger than the
// configured limit; the connection is dropped and restarted.
var ErrTooLarge = errors.New("upstream message exceeds size limit")

// RPCError is a JSON-RPC error answered by the upstream, kept whole so the
// proxy can pass its code, message and data on.
type RPCError struct {
	Code    int
	Message string
	Data    json.RawMessage
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("upstream error %d: %s", e.Code, e.Message)
}
