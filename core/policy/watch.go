package policy

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// reloadDebounce groups the bursts of events an editor makes when it saves.
const reloadDebounce = 200 * time.Millisecond

// Watch reloads the policies whenever a policy path or data file changes,
// until ctx ends. Directories are watched with their subdirectories as they
// were at the start; files are watched through their directory, so an
// editor that replaces a file by renaming is seen too. A failed reload keeps
// the current revision (see Reload).
func (e *Engine) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	watched := map[string]bool{}
	add := func(dir string) {
		if !watched[dir] {
			if err := w.Add(dir); err != nil {
				e.log.Warn("cannot watch policy directory", "dir", dir, "error", err)
				return
			}
			watched[dir] = true
		}
	}
	for _, p := range append(append([]string(nil), e.opts.Paths...), e.opts.DataFiles...) {
		fi, err := os.Stat(p)
		if err != nil {
			add(filepath.Dir(p))
			continue
		}
		if !fi.IsDir() {
			add(filepath.Dir(p))
			continue
		}
		_ = filepath.WalkDir(p, func(d string, entry os.DirEntry, err error) error {
			if err == nil && entry.IsDir() {
				add(d)
			}
			return nil
		})
	}
	if len(watched) == 0 {
		<-ctx.Done()
		return nil
	}
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if !e.relevant(ev.Name) {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(reloadDebounce)
			} else {
				timer.Reset(reloadDebounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			e.log.Warn("policy watcher error", "error", err)
		case <-fire:
			fire = nil
			_ = e.Reload(ctx)
		}
	}
}

// relevant reports whether a changed file can affect the policies.
func (e *Engine) relevant(name string) bool {
	for _, f := range e.opts.DataFiles {
		if filepath.Clean(f) == filepath.Clean(name) {
			return true
		}
	}
	return isPolicyFile(name)
}
