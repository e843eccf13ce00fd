package jsonptr

import "testing"

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    string
		want error
	}{
		{"/path", nil},
		{"/options/output", nil},
		{"/files/0", nil},
		{"/", nil}, // the key ""
		{"//", nil},
		{"/a~0b/c~1d", nil},
		{"/~01", nil},
		{"", errNoSlash},
		{"path", errNoSlash},
		{"#/path", errNoSlash},
		{"/a~", errTilde},
		{"/a~2b", errTilde},
		{"/~/x", errTilde},
	} {
		if got := Check(tc.p); got != tc.want {
			t.Errorf("Check(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestIsPointer(t *testing.T) {
	t.Parallel()
	for sel, want := range map[string]bool{"/x": true, "/": true, "x": false, "": false, "~/x": false} {
		if got := IsPointer(sel); got != want {
			t.Errorf("IsPointer(%q) = %v, want %v", sel, got, want)
		}
	}
}
