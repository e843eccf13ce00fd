package pathfact

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// resolution is what the file system says about one absolute path.
type resolution struct {
	path     string // symlinks of the longest existing prefix resolved; clean
	exists   bool   // every component exists
	symlink  bool   // a symbolic link was followed
	writable bool   // path, or its deepest existing directory, passes access(W_OK)
}

// resolve resolves the symbolic links of the longest existing prefix of the
// absolute path p and appends the rest; the result is clean. It only calls
// lstat, readlink and access: it never opens, lists or writes anything.
//
// It works one component at a time, as the kernel does: a link's target
// is spliced in front of the components still to walk (from "/" when it is
// absolute, from the link's directory when it is relative), and ".." (in p
// or in a target) goes up from the resolved directory, not the written one.
// Once a component is missing (ENOENT, or ENOTDIR under a file), the rest
// is appended lexically; a ".." that climbs back above the missing
// component resumes the real walk, so that no prefix that exists is left
// unresolved.
func resolve(p string) (resolution, error) {
	var r resolution
	if strings.Count(p, "/") > maxComponents {
		return r, ErrTooManyParts
	}
	dest := make([]byte, 1, len(p)+16)
	dest[0] = '/'
	rest := p
	links, steps := 0, 0
	missing := false
	missingAt := 0      // len(dest) when the first missing component was met
	parentIsDir := true // the deepest existing component is a directory
	for rest != "" {
		var comp string
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			comp, rest = rest[:i], rest[i+1:]
		} else {
			comp, rest = rest, ""
		}
		switch comp {
		case "", ".":
			continue
		case "..":
			dest = parentOf(dest)
			if missing && len(dest) <= missingAt {
				missing = false
				parentIsDir = true
			}
			continue
		}
		if steps++; steps > 4*maxComponents {
			return r, ErrTooManyParts
		}
		prev := len(dest)
		if len(dest) > 1 {
			dest = append(dest, '/')
		}
		dest = append(dest, comp...)
		if len(dest) > maxPathBytes {
			return r, ErrPathMax
		}
		if missing {
			continue
		}
		next := string(dest)
		fi, err := os.Lstat(next)
		if err != nil {
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case errors.Is(err, syscall.ENOTDIR):
				parentIsDir = false
			case errors.Is(err, syscall.ENAMETOOLONG):
				return r, ErrPathMax
			default:
				return r, inspectError(err)
			}
			missing = true
			missingAt = prev
			continue
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if strings.HasPrefix(next, "/proc/") {
			// /proc/self, /proc/<pid>/cwd, root and fd/N point
			// elsewhere for every process: where they lead for this
			// one says nothing about the upstream that will use them.
			return r, ErrProcLink
		}
		links++
		if links > maxLinks {
			return r, ErrTooManyLinks
		}
		r.symlink = true
		target, err := os.Readlink(next)
		if err != nil {
			return r, inspectError(err)
		}
		dest = dest[:prev]
		if strings.HasPrefix(target, "/") {
			dest = dest[:1]
		}
		if rest == "" {
			rest = target
		} else {
			rest = target + "/" + rest
		}
	}
	r.path = string(dest)
	r.exists = !missing
	switch {
	case r.exists:
		r.writable = writable(r.path)
	case parentIsDir:
		r.writable = writable(string(dest[:max(missingAt, 1)]))
	}
	return r, nil
}

// parentOf drops the last component of a clean absolute path; "/" stays.
func parentOf(p []byte) []byte {
	i := len(p) - 1
	for i > 0 && p[i] != '/' {
		i--
	}
	if i == 0 {
		return p[:1]
	}
	return p[:i]
}

// inspectError keeps the system's reason (e.g. "permission denied") and
// drops the path, which is in Fact.Raw already.
func inspectError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%w: %w", ErrInspect, err)
}
