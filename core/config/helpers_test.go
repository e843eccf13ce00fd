package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

// testEnv is an operating system with only the given environment variables
// and files, home directory /home/tester and working directory /srv/cwd.
func testEnv(vars, files map[string]string) env {
	return env{
		lookupEnv: func(k string) (string, bool) {
			v, ok := vars[k]
			return v, ok
		},
		homeDir: func() (string, error) { return "/home/tester", nil },
		abs: func(p string) (string, error) {
			if filepath.IsAbs(p) {
				return filepath.Clean(p), nil
			}
			return filepath.Join("/srv/cwd", p), nil
		},
		readFile: func(p string) ([]byte, error) {
			if c, ok := files[p]; ok {
				return []byte(c), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
	}
}

// stdEnv is the environment most tests use.
func stdEnv() env {
	return testEnv(
		map[string]string{"TOKEN": "s3cret", "GITHUB_TOKEN": "ghp_x", "EMPTY": ""},
		map[string]string{"/run/secrets/api_key": "file-secret\n"},
	)
}

// problemsOf returns the problems in err, failing the test if err holds
// anything else.
func problemsOf(t *testing.T, err error) []*Problem {
	t.Helper()
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	out := make([]*Problem, 0, len(errs))
	for _, e := range errs {
		var p *Problem
		if !errors.As(e, &p) {
			t.Fatalf("error %q (%T) is not a *Problem", e, e)
		}
		out = append(out, p)
	}
	return out
}

// golden compares got with testdata/name, or rewrites it under -update.
