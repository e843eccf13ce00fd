package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// rememberFile is the state Verify keeps with VerifyOptions.Remember: the
// newest checkpoint it saw of each log, by origin, so that the next run
// detects a log rolled back or replaced since (like ssh's known_hosts, it
// is only as safe as the place it is kept: outside the reach of the proxy's
// user).
type rememberFile struct {
	Version int                       `json:"version"`
	Logs    map[string]*rememberedLog `json:"logs"`
}

// rememberedLog is one log's entry.
type rememberedLog struct {
	Folder     string    `json:"folder"` // absolute path of the log folder
	Size       uint64    `json:"size"`
	Checkpoint string    `json:"checkpoint"` // the signed note
	Saved      time.Time `json:"saved"`
}

const rememberVersion = 1

func loadRemembered(path string) (*rememberFile, error) {
	st := &rememberFile{Version: rememberVersion, Logs: map[string]*rememberedLog{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verification state: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("verification state %s: %w", path, err)
	}
	if st.Version != rememberVersion {
		return nil, fmt.Errorf("verification state %s: version %d, want %d", path, st.Version, rememberVersion)
	}
	if st.Logs == nil {
		st.Logs = map[string]*rememberedLog{}
	}
	return st, nil
}

// save writes the state atomically (temp file, fsync, rename), readable by
// its owner only.
func (st *rememberFile) save(path string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("verification state: %w", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("verification state: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("verification state: %w", err)
	}
	return nil
}
