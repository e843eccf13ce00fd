//go:build !unix

package audit

import (
	"errors"
	"os"
)

// tryLock is not implemented where flock is missing: the log refuses to
// open rather than risk two writers on one chain.
func tryLock(*os.File) (bool, error) {
	return false, errors.New("audit log locking needs flock (unix)")
}
