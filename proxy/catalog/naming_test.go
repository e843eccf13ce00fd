package catalog

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// exposedRE is the MCP tool-name rule every exposed name must satisfy,
// written out independently of the package's own validName.
var exposedRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// hashedRE matches a name shortened with an 8-hex-digit hash suffix.
var hashedRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{55}_[0-9a-f]{8}$`)

func TestValidName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"simple", "read_file", true},
		{"all classes", "aZ09_-", true},
		{"one char", "a", true},
		{"exactly 64", strings.Repeat("a", 64), true},
		{"65", strings.Repeat("a", 65), false},
		{"empty", "", false},
		{"dot", "a.b", false},
		{"slash", "a/b", false},
		{"space", "a b", false},
		{"unicode", "héllo", false},
		{"newline at end", "abc\n", false},
		{"colon", "fs:read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidName(tt.in); got != tt.want {
				t.Errorf("ValidName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestExposeShortNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		prefix, item string
		want         string
	}{
		{"prefixed", "fs", "read_file", "fs__read_file"},
		{"unprefixed", "", "read_file", "read_file"},
		{"hyphens kept", "my-fs", "read-file", "my-fs__read-file"},
		{"mixed case kept", "Git", "LogCommits", "Git__LogCommits"},
		{"dot replaced", "fs", "file.read", "fs__file_read"},
		{"slash replaced", "fs", "dir/list", "fs__dir_list"},
		{"space replaced", "fs", "read file", "fs__read_file"},
		{"colon replaced", "", "ns:tool", "ns_tool"},
		{"unicode rune becomes one underscore", "fs", "héllo", "fs__h_llo"},
		{"emoji becomes one underscore", "", "go🚀", "go_"},
		{"invalid utf-8 byte replaced", "", "a\xffb", "a_b"},
		{"NUL replaced", "", "a\x00b", "a_b"},
		{"prefix cleaned too", "my.fs", "x", "my_fs__x"},
		{"empty name with prefix", "fs", "", "fs__"},
		{"empty everything", "", "", "_"},
		{"exactly 64 passes through", "", strings.Repeat("n", 64), strings.Repeat("n", 64)},
		{"prefixed exactly 64 passes through", "fs", strings.Repeat("n", 60), "fs__" + strings.Repeat("n", 60)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Expose(tt.prefix, tt.item)
			if got != tt.want {
				t.Errorf("Expose(%q, %q) = %q, want %q", tt.prefix, tt.item, got, tt.want)
			}
			if !exposedRE.MatchString(got) {
				t.Errorf("Expose(%q, %q) = %q does not match %s", tt.prefix, tt.item, got, exposedRE)
			}
		})
	}
}

func TestExposeLongNames(t *testing.T) {
	t.Parallel()
	stem := strings.Repeat("s", 60)
	tests := []struct {
		name         string
		prefix, item string
		wantStem     string // the first 55 characters of the result
	}{
		{"unprefixed 65", "", strings.Repeat("a", 65), strings.Repeat("a", 55)},
		{"prefixed 61", "fs", strings.Repeat("b", 61), "fs__" + strings.Repeat("b", 51)},
		{"very long", "fs", strings.Repeat("c", 10000), "fs__" + strings.Repeat("c", 51)},
		{"long with invalid characters", "", strings.Repeat("a.b/", 30), strings.Repeat("a_b_", 13) + "a_b"},
		{"long prefix", strings.Repeat("p", 70), "x", strings.Repeat("p", 55)},
		{"stem plus suffix", "", stem + "-long", stem[:55]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Expose(tt.prefix, tt.item)
			if len(got) != MaxNameLen {
				t.Errorf("len(Expose) = %d, want %d (%q)", len(got), MaxNameLen, got)
			}
			if !hashedRE.MatchString(got) {
				t.Errorf("Expose = %q, want 55 name characters, '_' and 8 hex digits", got)
			}
			if !strings.HasPrefix(got, tt.wantStem) {
				t.Errorf("Expose = %q, want it to start with %q", got, tt.wantStem)
			}
			if again := Expose(tt.prefix, tt.item); again != got {
				t.Errorf("Expose is not deterministic: %q then %q", got, again)
			}
		})
	}
}

func TestExposeLongNamesSharingAStemDiffer(t *testing.T) {
	t.Parallel()
	stem := strings.Repeat("x", 60)
	seen := map[string]string{}
	for _, tail := range []string{"-alpha", "-beta", "-gamma", ".alpha", "/alpha", "-alpha "} {
		item := stem + tail
		got := Expose("fs", item)
		if prev, dup := seen[got]; dup {
			t.Errorf("Expose(fs, %q) = Expose(fs, %q) = %q", item, prev, got)
		}
		seen[got] = item
	}
	// The same long name under two prefixes that clean alike is also told apart.
	a, b := Expose("my.fs", stem), Expose("my/fs", stem)
	if a == b {
		t.Errorf("prefixes my.fs and my/fs give the same long name %q", a)
	}
}

func FuzzExpose(f *testing.F) {
	for _, seed := range [][2]string{
		{"fs", "read_file"},
		{"", "read_file"},
		{"", ""},
		{"fs", ""},
		{"my.fs", "a/b c"},
		{"fs", "héllo🚀"},
		{"", "\xff\xfe\x00"},
		{"fs", strings.Repeat("n", 60)},
		{"fs", strings.Repeat("n", 61)},
		{strings.Repeat("p", 64), strings.Repeat("n", 64)},
		{"", strings.Repeat("é", 40)},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, prefix, name string) {
		got := Expose(prefix, name)
		if !exposedRE.MatchString(got) {
			t.Fatalf("Expose(%q, %q) = %q does not match %s", prefix, name, got, exposedRE)
		}
		if !ValidName(got) {
			t.Fatalf("ValidName(Expose(%q, %q) = %q) = false", prefix, name, got)
		}
		if again := Expose(prefix, name); again != got {
			t.Fatalf("Expose(%q, %q) not deterministic: %q then %q", prefix, name, got, again)
		}
		// A name made only of legal characters passes through unchanged
		// when it fits.
		plain := name
		if prefix != "" {
			plain = prefix + Separator + name
		}
		if exposedRE.MatchString(plain) && got != plain {
			t.Fatalf("Expose(%q, %q) = %q, want it unchanged as %q", prefix, name, got, plain)
		}
		// Cleaning maps each rune to one byte, so a result shorter than the
		// limit is never hashed, and a hashed result is exactly the limit.
		cleanLen := utf8.RuneCountInString(name)
		if prefix != "" {
			cleanLen += utf8.RuneCountInString(prefix) + len(Separator)
		}
		if cleanLen > MaxNameLen && !hashedRE.MatchString(got) {
			t.Fatalf("Expose(%q, %q) = %q: a long name must be shortened with a hash", prefix, name, got)
		}
		// Two different long names never share an exposed name.
		other := name + "x"
		if cleanLen > MaxNameLen {
			if o := Expose(prefix, other); o == got {
				t.Fatalf("Expose(%q, %q) = Expose(%q, %q) = %q", prefix, name, prefix, other, got)
			}
		}
	})
}
