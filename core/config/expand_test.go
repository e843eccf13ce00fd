package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExpandRefs(t *testing.T) {
	e := testEnv(
		map[string]string{"TOKEN": "s3cret", "EMPTY": "", "WITH_REF": "${env:TOKEN}", "_X1": "x"},
		map[string]string{
			"/run/secret":            "from-file\n",
			"/run/crlf":              "line\r\n\r\n",
			"/run/multi":             "a\nb\n",
			"/home/tester/.token":    "home-file",
			"/run/empty":             "",
			"/run/with-trailing-tab": "v\t\n",
		},
	)
	for _, tc := range []struct {
		in, want string
		errs     []string
	}{
		{"plain", "plain", nil},
		{"", "", nil},
		{"${env:TOKEN}", "s3cret", nil},
		{"Bearer ${env:TOKEN}!", "Bearer s3cret!", nil},
		{"${env:TOKEN}${env:TOKEN}", "s3crets3cret", nil},
		{"${env:EMPTY}", "", nil},
		{"${env:_X1}", "x", nil},
		{"${env:WITH_REF}", "${env:TOKEN}", nil}, // values are not expanded again
		{"$$", "$", nil},
		{"$${env:TOKEN}", "${env:TOKEN}", nil},
		{"$$$${env:TOKEN}", "$${env:TOKEN}", nil},
		{"$$${env:TOKEN}", "$s3cret", nil},
		{"cost: 5$", "cost: 5$", nil},
		{"$HOME and $1", "$HOME and $1", nil},
		{"${file:/run/secret}", "from-file", nil},
		{"${file:/run/crlf}", "line", nil},
		{"${file:/run/multi}", "a\nb", nil},
		{"${file:~/.token}", "home-file", nil},
		{"${file:/run/empty}", "", nil},
		{"${file:/run/with-trailing-tab}", "v\t", nil},
		{"${env:NOPE}", "", []string{"environment variable NOPE is not set"}},
		{"${env:A}-${env:B}", "", []string{"environment variable A is not set", "environment variable B is not set"}},
		{"${env:}", "", []string{`"" is not a valid environment variable name`}},
		{"${env:1X}", "", []string{`"1X" is not a valid environment variable name`}},
		{"${env:A-B}", "", []string{`"A-B" is not a valid environment variable name`}},
		{"${file:/nope}", "", []string{"${file:/nope}: cannot read the file: open /nope: file does not exist"}},
		{"${file:relative}", "", []string{"${file:relative}: the file must be given by an absolute path"}},
		{"${file:}", "", []string{"must be given by an absolute path"}},
		{"${file:~bob/x}", "", []string{`not "~user"`}},
		{"${TOKEN}", "", []string{"unknown reference ${TOKEN}"}},
		{"${secret:x}", "", []string{"unknown reference ${secret:x}"}},
		{"${}", "", []string{"unknown reference ${}"}},
		{"${ENV:TOKEN}", "", []string{"unknown reference ${ENV:TOKEN}"}},
		{"abc ${env:TOKEN", "", []string{`"${env:TOKEN" has no closing "}"`}},
		{"${env:NOPE} ${", "", []string{"NOPE is not set", `"${" has no closing "}"`}},
	} {
		got, errs := expandRefs(tc.in, e)
		if len(errs) != len(tc.errs) {
			t.Errorf("%q: got errors %q, want %q", tc.in, errs, tc.errs)
			continue
		}
		for i := range errs {
			if !strings.Contains(errs[i], tc.errs[i]) {
				t.Errorf("%q: error %d = %q, want it to contain %q", tc.in, i, errs[i], tc.errs[i])
			}
			if strings.Contains(errs[i], "s3cret") {
				t.Errorf("%q: error %q holds a secret", tc.in, errs[i])
			}
		}
		if len(tc.errs) == 0 && got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestExpandInConfig(t *testing.T) {
	e := testEnv(map[string]string{"TOKEN": "t", "HOST": "h.example", "DIR": "/d"}, map[string]string{"/k": "key\n"})
	cfg, err := parse([]byte(`servers:
  s:
    command: "${env:DIR}/bin"
    args: ["--token=${env:TOKEN}", "${file:/k}", "$$HOME"]
    env: {A: "${env:TOKEN}", B: "x${file:/k}y"}
  h:
    url: "https://${env:HOST}/mcp"
    headers: {Authorization: "Bearer ${env:TOKEN}", X-Key: "${file:/k}"}
`), "", e)
	if err != nil {
		t.Fatal(err)
	}
	s, h := cfg.Servers["s"], cfg.Servers["h"]
	if s.Command != "${env:DIR}/bin" {
		t.Errorf("command must be taken literally, got %q", s.Command)
	}
	if want := []string{"--token=t", "key", "$HOME"}; !reflect.DeepEqual(s.Args, want) {
		t.Errorf("args = %q, want %q", s.Args, want)
	}
	if want := map[string]string{"A": "t", "B": "xkeyy"}; !reflect.DeepEqual(s.Env, want) {
		t.Errorf("env = %q, want %q", s.Env, want)
	}
	if h.URL != "https://h.example/mcp" {
		t.Errorf("url = %q", h.URL)
	}
	if want := map[string]string{"Authorization": "Bearer t", "X-Key": "key"}; !reflect.DeepEqual(h.Headers, want) {
		t.Errorf("headers = %q, want %q", h.Headers, want)
	}
}

func TestExpandPath(t *testing.T) {
	e := stdEnv()
	for _, tc := range []struct{ in, want, err string }{
		{"~", "/home/tester", ""},
		{"~/", "/home/tester", ""},
		{"~/x/../y", "/home/tester/y", ""},
		{"/abs//path/", "/abs/path", ""},
		{"rel", "/srv/cwd/rel", ""},
		{"./a/b", "/srv/cwd/a/b", ""},
		{"a~", "/srv/cwd/a~", ""},
		{"", "", "path is empty"},
		{"~bob", "", `only "~" and "~/" are supported`},
	} {
		got, err := expandPath(tc.in, e)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
		case err != nil || got != tc.want:
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	noHome := stdEnv()
	homeErr := errors.New("no home")
	noHome.homeDir = func() (string, error) { return "", homeErr }
	if _, err := expandPath("~/x", noHome); !errors.Is(err, homeErr) {
		t.Errorf("without a home: %v, want it to wrap the cause", err)
	}
	if _, err := expandPath("/x", noHome); err != nil {
		t.Errorf("an absolute path needs no home: %v", err)
	}
}

func TestExpandPathReal(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home) // os.UserHomeDir on Windows
	if got, err := ExpandPath("~/data"); err != nil || got != filepath.Join(home, "data") {
		t.Errorf("ExpandPath(~/data) = %q, %v", got, err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ExpandPath("data"); err != nil || got != filepath.Join(wd, "data") {
		t.Errorf("ExpandPath(data) = %q, %v", got, err)
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readSecretFile(small); err != nil || string(b) != "abc\n" {
		t.Errorf("small file: %q, %v", b, err)
	}
	exact := filepath.Join(dir, "exact")
	if err := os.WriteFile(exact, make([]byte, maxSecretFileBytes), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readSecretFile(exact); err != nil || len(b) != maxSecretFileBytes {
		t.Errorf("file of exactly the limit: %d bytes, %v", len(b), err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxSecretFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readSecretFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("file over the limit: %v", err)
	}
	if _, err := readSecretFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := readSecretFile(dir); err == nil {
		t.Error("reading a directory must fail")
	}
}
