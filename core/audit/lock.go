package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// maxLogFolders bounds the search for a free log folder (main, main-2, …).
const maxLogFolders = 1000

// lockFolder takes the first log folder under dir, base then base-2,
// base-3…, whose LOCK file this process can flock exclusively, creating
// the folder if needed. It returns the folder's name and the locked file,
// which holds the lock until it is closed.
func lockFolder(dir, base string) (string, *os.File, error) {
	for i := 1; i <= maxLogFolders; i++ {
		name := base
		if i > 1 {
			name = base + "-" + strconv.Itoa(i)
		}
		path := filepath.Join(dir, name)
		created := false
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			created = true
		}
		if err := os.MkdirAll(path, 0o700); err != nil {
			return "", nil, fmt.Errorf("log folder: %w", err)
		}
		if created {
			// The folder's entry must survive a crash before its first
			// record is acknowledged.
			if err := syncDir(dir); err != nil {
				return "", nil, fmt.Errorf("log folder: %w", err)
			}
		}
		f, err := os.OpenFile(filepath.Join(path, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return "", nil, fmt.Errorf("log lock: %w", err)
		}
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return "", nil, fmt.Errorf("log lock: %w", err)
		}
		if !ok {
			f.Close()
			continue
		}
		// The pid helps an operator find the writer; the lock is what counts.
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		return name, f, nil
	}
	return "", nil, fmt.Errorf("no free log folder among %s … %s-%d", base, base, maxLogFolders)
}
