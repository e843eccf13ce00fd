package engine

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// scanBounds bound one walk.
type scanBounds struct {
	maxEntries int
	timeout    time.Duration
}

// defaultScanBounds: what scan_thresholds walks at most.
var defaultScanBounds = scanBounds{maxEntries: 200_000, timeout: 10 * time.Second}

// scanCheckEvery: entries between cancellation checks and progress
// notifications.
const scanCheckEvery = 1000

// scanMetrics is what a walk measured.
type scanMetrics struct {
	FileCount  int     `json:"file_count"`
	DirCount   int     `json:"dir_count"`
	MaxDepth   int     `json:"max_depth"`
	Entropy    float64 `json:"entropy"`
	Entries    int     `json:"entries"`
	Symlinks   int     `json:"symlinks_not_followed"`
	Unreadable int     `json:"unreadable_dirs"`
	Complete   bool    `json:"complete"`
	Reason     string  `json:"incomplete_reason,omitempty"`
}

var (
	errScanEntries = errors.New("entry limit reached")
	errScanTime    = errors.New("time limit reached")
)

// resolveScanDir turns the path argument into a directory inside a root:
// absolute, or relative to the first root; cleaned; refused when it is
// lexically outside every root (before the file system is asked anything),
// then resolved through symlinks and refused unless the result is inside a
// root too. It returns the resolved path, the index of its root and its
// path relative to that root (slash-separated, "." for the root).
func resolveScanDir(configured []string, p string) (string, int, string, error) {
	var roots []string // the absolute ones; the index is into configured
	var index []int
	for i, r := range configured {
		if filepath.IsAbs(r) {
			roots, index = append(roots, filepath.Clean(r)), append(index, i)
		}
	}
	if len(roots) == 0 {
		return "", 0, "", Errorf(CategoryPermission, "no roots are configured, and scan_thresholds walks only inside them")
	}
	if strings.ContainsRune(p, 0) {
		return "", 0, "", FieldError("/path", "the path holds a NUL character")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(roots[0], p)
	}
	p = filepath.Clean(p)
	lexical := false
	for _, r := range roots {
		if _, ok := within(r, p); ok {
			lexical = true
			break
		}
	}
	if !lexical {
		return "", 0, "", &Error{Category: CategoryPermission, Field: "/path", Msg: "the path is outside the configured roots"}
	}
	resolved, err := filepath.EvalSymlinks(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", 0, "", &Error{Category: CategoryNotFound, Field: "/path", Msg: "the path does not exist"}
	case err != nil:
		return "", 0, "", &Error{Category: CategoryPermission, Field: "/path", Msg: "the path cannot be resolved", Err: err}
	}
	for i, r := range roots {
		rr, err := filepath.EvalSymlinks(r)
		if err != nil {
			continue
		}
		if rel, ok := within(rr, resolved); ok {
			fi, err := os.Lstat(resolved)
			if err != nil {
				return "", 0, "", &Error{Category: CategoryNotFound, Field: "/path", Msg: "the path cannot be read", Err: err}
			}
			if !fi.IsDir() {
				return "", 0, "", FieldError("/path", "the path is not a directory")
			}
			return resolved, index[i], filepath.ToSlash(rel), nil
		}
	}
	return "", 0, "", &Error{Category: CategoryPermission, Field: "/path", Msg: "the path resolves (through a symbolic link) to a place outside the configured roots"}
}

// within reports whether p is root or below it, and p relative to root.
func within(root, p string) (string, bool) {
	rel, err := filepath.Rel(root, p)
	if err != nil || filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// walkScan measures dir through an os.Root opened on it (nothing below
// can lead outside), without following symlinks. It stops at b's entry or
// time limit with a partial result, and with an error when ctx ends.
func walkScan(ctx context.Context, dir string, recursive bool, b scanBounds, progress func(done, total float64, msg string)) (scanMetrics, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return scanMetrics{}, &Error{Category: CategoryNotFound, Field: "/path", Msg: "the directory cannot be opened", Err: err}
	}
	defer root.Close()
	wctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	m := scanMetrics{Complete: true}
	freq := map[rune]int{}
	total := 0
	walkErr := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			m.Unreadable++
			return nil // WalkDir skips what it could not read
		}
		if p == "." {
			return nil
		}
		m.Entries++
		if m.Entries%scanCheckEvery == 0 {
			if err := wctx.Err(); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return errScanTime
			}
			progress(float64(m.Entries), 0, "walking")
		}
		if m.Entries >= b.maxEntries {
			return errScanEntries
		}
		depth := strings.Count(p, "/") + 1
		switch {
		case d.IsDir():
			m.DirCount++
			m.MaxDepth = max(m.MaxDepth, depth)
			if !recursive {
				return fs.SkipDir
			}
		case d.Type()&fs.ModeSymlink != 0:
			m.Symlinks++
		case d.Type().IsRegular():
			m.FileCount++
			for _, r := range d.Name() {
				freq[r]++
				total++
			}
		}
		return nil
	})
	switch {
	case walkErr == nil:
	case errors.Is(walkErr, errScanEntries):
		m.Complete, m.Reason = false, "stopped at the limit of "+itoa(b.maxEntries)+" entries"
	case errors.Is(walkErr, errScanTime):
		m.Complete, m.Reason = false, "stopped at the time limit of "+b.timeout.String()
	case ctx.Err() != nil:
		return scanMetrics{}, AsError(ctx.Err())
	default:
		return scanMetrics{}, internal("cannot walk the directory", walkErr)
	}
	m.Entropy = nameEntropy(freq, total)
	return m, nil
}

// nameEntropy is the Shannon entropy of the file names' characters,
// normalised by log2 of the alphabet size (1 when it has one character),
// as the original computed it.
func nameEntropy(freq map[rune]int, total int) float64 {
	if total == 0 {
		return 0
	}
	h := 0.0
	for _, n := range freq {
		p := float64(n) / float64(total)
		h -= p * math.Log2(p)
	}
	maxH := 1.0
	if len(freq) > 1 {
		maxH = math.Log2(float64(len(freq)))
	}
	return h / maxH
}

func itoa(n int) string { return printer.Sprintf("%d", n) }
