package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ExpandPath expands a leading "~" (alone, or followed by a path separator)
// to the current user's home directory and makes the result absolute
// against the current working directory, cleaning it. "~user" forms are not
// supported. An empty path is an error.
func ExpandPath(p string) (string, error) {
	return expandPath(p, osEnv())
}

// expandPath is ExpandPath with the operating system passed in.
func expandPath(p string, e env) (string, error) {
	if p == "" {
		return "", errors.New("path is empty")
	}
	if p[0] == '~' {
		if len(p) > 1 && !os.IsPathSeparator(p[1]) {
			return "", fmt.Errorf("cannot expand %q: only \"~\" and \"~/\" are supported, not \"~user\"", p)
		}
		home, err := e.homeDir()
		if err != nil {
			return "", fmt.Errorf("cannot expand %q: %w", p, err)
		}
		if home == "" {
			return "", fmt.Errorf("cannot expand %q: the home directory is unknown", p)
		}
		p = home + p[1:]
	}
	abs, err := e.abs(p)
	if err != nil {
		return "", fmt.Errorf("cannot make %q absolute: %w", p, err)
	}
	return abs, nil
}

// absPath is filepath.Abs.
func absPath(p string) (string, error) { return filepath.Abs(p) }

// maxSecretFileBytes bounds what a ${file:...} reference reads, so that a
// reference to /dev/zero or a log file fails instead of eating memory.
const maxSecretFileBytes = 1 << 20

// readSecretFile reads a file named by a ${file:...} reference.
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxSecretFileBytes)
	}
	return b, nil
}

// envName matches the variable names a ${env:NAME} reference may use.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandRefs replaces the references in s: ${env:NAME} by the value of the
// environment variable, ${file:PATH} by the file's content without trailing
// line breaks, and $$ by $. A $ followed by anything else stays as it is.
// It returns the result and one message per reference that could not be
// resolved; the messages never contain resolved values. The result is not
// scanned again, so a value containing "${" stays as it is.
func expandRefs(s string, e env) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var (
		b    strings.Builder
		errs []string
	)
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$$"):
			b.WriteByte('$')
			s = s[2:]
			continue
		case !strings.HasPrefix(s, "${"):
			b.WriteByte('$')
			s = s[1:]
			continue
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			errs = append(errs, fmt.Sprintf("%q has no closing \"}\" (write $$ for a literal $)", s))
			break
		}
		ref := s[2:end]
		s = s[end+1:]
		value, err := resolveRef(ref, e)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		b.WriteString(value)
	}
	return b.String(), errs
}

// resolveRef resolves the inside of one "${...}".
func resolveRef(ref string, e env) (string, error) {
	kind, arg, _ := strings.Cut(ref, ":")
	switch kind {
	case "env":
		if !envName.MatchString(arg) {
			return "", fmt.Errorf("${%s}: %q is not a valid environment variable name", ref, arg)
		}
		v, ok := e.lookupEnv(arg)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", arg)
		}
		return v, nil
	case "file":
		path := arg
		if strings.HasPrefix(path, "~") {
			p, err := expandPath(path, e)
			if err != nil {
				return "", fmt.Errorf("${%s}: %w", ref, err)
			}
			path = p
		}
		if !filepath.IsAbs(path) {
			return "", fmt.Errorf("${%s}: the file must be given by an absolute path", ref)
		}
		b, err := e.readFile(path)
		if err != nil {
			return "", fmt.Errorf("${%s}: cannot read the file: %w", ref, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	default:
		return "", fmt.Errorf("unknown reference ${%s}; use ${env:NAME}, ${file:/absolute/path}, or $$ for a literal $", ref)
	}
}
