package audit

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync is fdatasync(2): the data and the size, not the other metadata.
func datasync(f *os.File) error {
	var err error
	c, cerr := f.SyscallConn()
	if cerr != nil {
		return cerr
	}
	if cerr := c.Control(func(fd uintptr) {
		for {
			err = unix.Fdatasync(int(fd))
			if err != unix.EINTR {
				return
			}
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	return nil
}
