package pathfact

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// Limits. Every one of them turns into a Fact whose Error is set, which
// policies deny; none of them is silently skipped.
const (
	// MaxPaths is the number of path facts one Facts call returns. The
	// path beyond it gets a Fact with ErrTooManyPaths and the walk stops.
	MaxPaths = 256
	// MaxRawBytes is the longest raw path (and the longest normalised
	// form of one) that is analysed; a longer one gets ErrTooLong.
	MaxRawBytes = 64 << 10
	// MaxDepth is how deeply nested the arguments may be; a deeper value
	// gets a Fact with ErrTooDeep.
	MaxDepth = 64
	// MaxNodes is how many JSON values one Facts call visits; past it the
	// walk stops with a Fact carrying ErrTooLarge.
	MaxNodes = 1 << 20

	// maxRawKept is how much of a raw value too long to analyse is kept
	// in Fact.Raw.
	maxRawKept = 1024
	// maxPathBytes is PATH_MAX less its NUL: longer paths cannot be handed
	// to the kernel whole.
	maxPathBytes = 4095
	// maxComponents bounds the file system work done for one path.
	maxComponents = 255
	// maxDecodeRounds is how many rounds of percent-decoding are applied
	// (one more for a file URI, whose syntax requires one).
	maxDecodeRounds = 3
	// maxLinks is how many symbolic links are followed for one path, as
	// Linux does before ELOOP.
	maxLinks = 40
)

// The problems a Fact's Error can report. Fact.Error holds the text of one
// of them (ErrInspect is followed by the system's reason). The texts are
// stable: policies may match them, but should deny on any non-empty Error.
var (
	ErrTooLong         = errors.New("too long")
	ErrTooManyPaths    = errors.New("too many paths")
	ErrTooDeep         = errors.New("too deeply nested")
	ErrTooLarge        = errors.New("arguments too large to inspect")
	ErrUnsupported     = errors.New("argument value of a type that is not decoded JSON")
	ErrInvalidUTF8     = errors.New("invalid UTF-8")
	ErrEncodedTooDeep  = errors.New("percent-encoded too many times")
	ErrUEncoding       = errors.New("non-standard %u escape (IIS-style) in path")
	ErrURIHost         = errors.New("file URI names a remote host")
	ErrURIQuery        = errors.New("file URI has a query or fragment")
	ErrTildeUser       = errors.New("~user paths are not supported")
	ErrPathMax         = errors.New("longer than PATH_MAX")
	ErrTooManyParts    = errors.New("too many path components")
	ErrTooManyLinks    = errors.New("too many levels of symbolic links")
	ErrProcLink        = errors.New("goes through a per-process link in /proc")
	ErrInspect         = errors.New("cannot inspect path")
	ErrInternal        = errors.New("internal error")
	errNotAbsolute     = errors.New("not an absolute path")
	errNUL             = errors.New("contains a NUL byte")
	errEmptyPattern    = errors.New("empty pattern")
	errDotDotInPattern = errors.New("pattern contains a .. component")
)

// Options configures an Analyzer. Every field is read once, by New.
type Options struct {
	// Home is the user's home directory, for "~" and for "~/" patterns.
	// Empty means os.UserHomeDir(); New fails if that is unknown too.
	Home string
	// Cwd is the base for relative paths (the proxy's working directory,
	// or a per-server cwd). Empty means os.Getwd(). "~" is expanded; it
	// must then be absolute.
	Cwd string
	// Roots are the allowed roots. "~" is expanded; each must then be
	// absolute. New canonicalises them (symlinks resolved), so a root
	// given through a symlink still works. No roots: nothing is within.
	Roots []string
	// Sensitive adds patterns to the default sensitive list (see
	// DefaultSensitive for the syntax). Their reason is
	// "configured pattern " followed by the pattern.
	Sensitive []string
	// NoDefaultSensitive drops the default sensitive list.
	NoDefaultSensitive bool
	// ExtraPathArgs names arguments that are paths in every call, besides
	// the default names. The arguments of one tool (the configuration's
	// path_args) are given per call, as a ToolArgs to FactsFor.
	ExtraPathArgs []string
}

// Analyzer computes path facts. It is immutable after New and safe for
// concurrent use.
type Analyzer struct {
	home      string // clean, absolute, as given
	cwd       string // clean, absolute
	roots     []string
	sensitive []pattern
	names     map[string]struct{} // normalised extra argument names
}

// Fact is what Go knows about one path-like argument. Policies decide on it.
type Fact struct {
	// Pointer is the RFC 6901 JSON pointer of the argument, e.g. "/paths/1".
	Pointer string `json:"pointer"`
	// Raw is the value as sent (only its first 1 KiB when it was too long
	// to analyse).
	Raw string `json:"raw"`
	// Canonical is absolute, cleaned, decoded, NFKC-normalised, with "~"
	// expanded and the symbolic links of its longest existing prefix
	// resolved. Empty when Error is set.
	Canonical string `json:"canonical"`
	// WithinRoots: every interpretation of Raw (see the package
	// documentation) resolves inside one of the roots, compared by path
	// components.
	WithinRoots bool `json:"within_roots"`
	// Root is the most specific root Canonical is in, when WithinRoots.
	Root string `json:"root,omitempty"`
	// Traversal: a ".." segment (or a segment of dots and spaces only,
	// with two dots or more) was present, raw or after any decoding.
	Traversal bool `json:"traversal"`
	// Encoded: percent-encoding was decoded to get Canonical (beyond the
	// one round a file URI's syntax requires).
	Encoded bool `json:"encoded"`
	// NUL: a NUL byte was present, raw or decoded from %00. Canonical is
	// the part before it.
	NUL bool `json:"nul"`
	// Lookalike: Unicode look-alikes of '/', '\\', '.', ':', '~' or '%',
	// invisible format characters, or anything NFKC changes.
	Lookalike bool `json:"lookalike"`
	// WindowsForm: a drive letter, a UNC prefix or backslashes.
	WindowsForm bool `json:"windows_form"`
	// URI: the value was a file:// URI.
	URI bool `json:"uri"`
	// Sensitive: some interpretation matches a sensitive pattern.
	Sensitive bool `json:"sensitive"`
	// SensitiveReason names the first pattern group that matched.
	SensitiveReason string `json:"sensitive_reason,omitempty"`
	// IsSymlink: some component of the path is a symbolic link.
	IsSymlink bool `json:"is_symlink"`
	// Exists: Canonical exists.
	Exists bool `json:"exists"`
	// Writable: Canonical, or its nearest existing parent directory when
	// it does not exist, passes access(2) with W_OK for this process.
	Writable bool `json:"writable"`
	// Error is a canonicalisation problem; policies deny on it.
	Error string `json:"error,omitempty"`
}

// New builds an Analyzer. It reads the file system (lstat and readlink) to
// canonicalise the roots, the home directory and the sensitive patterns.
func New(opts Options) (*Analyzer, error) {
	a := &Analyzer{}

	home := opts.Home
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("pathfact: home directory: %w", err)
		}
		home = h
	}
	h, err := absConfigPath(home, "")
	if err != nil {
		return nil, fmt.Errorf("pathfact: home directory: %w", err)
	}
	a.home = h

	cwd := opts.Cwd
	if cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("pathfact: working directory: %w", err)
		}
		cwd = wd
	}
	if a.cwd, err = absConfigPath(cwd, a.home); err != nil {
		return nil, fmt.Errorf("pathfact: working directory: %w", err)
	}

	if a.roots, err = canonicalRoots(opts.Roots, a.home); err != nil {
		return nil, err
	}

	if a.sensitive, err = compilePatterns(opts, a.home); err != nil {
		return nil, err
	}

	a.names = make(map[string]struct{}, len(opts.ExtraPathArgs))
	for _, n := range opts.ExtraPathArgs {
		if k := normaliseName(n); k != "" {
			a.names[k] = struct{}{}
		}
	}
	return a, nil
}

// Roots returns the canonical roots, in the order given, without duplicates.
func (a *Analyzer) Roots() []string {
	return append([]string(nil), a.roots...)
}

// absConfigPath checks a path from the configuration: "~" and "~/x" are
// expanded with home (when home is not empty), and the result must be
// absolute and free of NUL bytes. It is returned cleaned.
func absConfigPath(p, home string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", errNUL
	}
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		p = home + p[1:]
	}
	if !path.IsAbs(p) {
		return "", fmt.Errorf("%q: %w", p, errNotAbsolute)
	}
	return path.Clean(p), nil
}
