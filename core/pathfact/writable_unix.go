//go:build unix

package pathfact

import "syscall"

// wOK is W_OK of access(2).
const wOK = 0x2

// writable reports whether access(2) grants this process W_OK on p (with
// the real user and group ids, as access does).
func writable(p string) bool {
	return syscall.Access(p, wOK) == nil
}
