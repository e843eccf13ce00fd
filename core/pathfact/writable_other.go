//go:build !unix

package pathfact

// writable is false where access(2) does not exist: a fact that cannot be
// established is reported as the safer answer.
func writable(string) bool { return false }
