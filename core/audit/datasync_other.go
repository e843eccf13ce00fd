//go:build !linux

package audit

import "os"

// datasync is fsync where fdatasync(2) is missing (on macOS, os.File.Sync
// is F_FULLFSYNC, which is what durability needs there).
func datasync(f *os.File) error { return f.Sync() }
