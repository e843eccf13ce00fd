package pathfact

import (
	"encoding/json"
	"fmt"
	"github.com/sovereign-stack/sovereign/core/internal/golden"
	"slices"
	"strings"
	"sync"
	"testing"
)

func decodeJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// pointers lists "pointer=raw" for each fact.
func pointers(facts []Fact) []string {
	out := make([]string, len(facts))
	for i, f := range facts {
		out[i] = f.Pointer + "=" + f.Raw
		if f.Error != "" && f.Raw == "" {
			out[i] = f.Pointer + "!" + f.Error
		}
	}
	return out
}

func TestFactsExtraction(t *testing.T) {
	fx := newFixture(t, func(o *Options) { o.ExtraPathArgs = []string{"thing", "Other_Name"} })
	for _, tc := range []struct {
		name string
		args string
		want []string
	}{
		// By name.
		{"path", `{"path": "a.txt", "content": "hello"}`, []string{"/path=a.txt"}},
		{"case", `{"PATH": "a", "File_Path": "b", "filePath": "c", "file-path": "d"}`,
			[]string{"/File_Path=b", "/PATH=a", "/file-path=d", "/filePath=c"}},
		{"every default name", `{"path":"1","paths":"2","file":"3","files":"4","filename":"5","filepath":"6","file_path":"7","dir":"8","directory":"9","folder":"10","source":"11","src":"12","destination":"13","dest":"14","dst":"15","target":"16","cwd":"17","root":"18","workdir":"19","working_directory":"20","location":"21"}`,
			[]string{"/cwd=17", "/dir=8", "/directory=9", "/file=3", "/file_path=7", "/filename=5", "/filepath=6", "/files=4", "/folder=10", "/path=1", "/paths=2", "/workdir=19", "/working_directory=20"}},
		// source, target, root, dest… hold paths only when the value has the shape of one.
		{"ambiguous names", `{"source":"wikipedia","target":"fr","root":"a/b","dest":"./x","src":"~/y","location":"New York","destination":"file:///tmp/z","dst":"out"}`,
			[]string{"/dest=./x", "/destination=file:///tmp/z", "/root=a/b", "/src=~/y"}},
		{"compound names", `{"sourcePath": "a", "output_file": "b", "baseDir": "c", "URLPath": "d", "LOG_DIRECTORY": "e", "inputFiles": ["f"], "workingDirectory": "g", "profile": "h", "xpath": "i", "pathology": "j", "directions": "k"}`,
			[]string{"/LOG_DIRECTORY=e", "/URLPath=d", "/baseDir=c", "/inputFiles/0=f", "/output_file=b", "/sourcePath=a", "/workingDirectory=g"}},
		{"extra names", `{"thing": "a", "other-name": "b", "stuff": "c"}`, []string{"/other-name=b", "/thing=a"}},
		{"nested", `{"options": {"dir": "a", "mode": "b"}}`, []string{"/options/dir=a"}},
		{"array", `{"paths": ["a", "b", 3, null, true]}`, []string{"/paths/0=a", "/paths/1=b"}},
		{"nested arrays", `{"files": [["a"], {"x": "y", "dir": "z"}]}`, []string{"/files/0/0=a", "/files/1/dir=z"}},
		{"array of objects", `{"edits": [{"path": "a", "text": "b"}, {"path": "c"}]}`, []string{"/edits/0/path=a", "/edits/1/path=c"}},
		{"not strings", `{"path": 3, "dir": true, "file": null, "paths": {}}`, nil},
		{"escaping", `{"a/b": {"~c": "/etc/x", "d~/": {"path": "p"}}}`, []string{"/a~1b/d~0~1/path=p", "/a~1b/~0c=/etc/x"}},
		{"empty key", `{"": "/x"}`, []string{"/=/x"}},
		{"index order", `{"paths": ["0","1","2","3","4","5","6","7","8","9","10","11"]}`,
			[]string{"/paths/0=0", "/paths/1=1", "/paths/2=2", "/paths/3=3", "/paths/4=4", "/paths/5=5", "/paths/6=6", "/paths/7=7", "/paths/8=8", "/paths/9=9", "/paths/10=10", "/paths/11=11"}},
		{"key order", `{"b": "/x", "a": ["/y", "/z"], "B": "/w"}`, []string{"/B=/w", "/a/0=/y", "/a/1=/z", "/b=/x"}},

		// By value, under other names.
		{"absolute", `{"query": "/etc/passwd"}`, []string{"/query=/etc/passwd"}},
		{"root dir", `{"q": "/"}`, []string{"/q=/"}},
		{"tilde", `{"note": "~/.ssh/id_rsa", "a": "~", "b": "~bob/x", "c": "~\\x"}`, []string{"/a=~", "/b=~bob/x", "/c=~\\x", "/note=~/.ssh/id_rsa"}},
		{"file uri", `{"x": "file:///etc", "y": "FILE:/etc"}`, []string{"/x=file:///etc", "/y=FILE:/etc"}},
		{"drive", `{"x": "C:\\x", "y": "d:/y"}`, []string{"/x=C:\\x", "/y=d:/y"}},
		{"unc", `{"x": "\\\\srv\\share"}`, []string{"/x=\\\\srv\\share"}},
		{"dotdot", `{"x": "a/../b", "y": "..", "z": "..\\x", "w": "../"}`, []string{"/w=../", "/x=a/../b", "/y=..", "/z=..\\x"}},
		{"encoded dotdot", `{"x": "a/%2e%2e/b", "y": "%252e%252e%252fetc"}`, []string{"/x=a/%2e%2e/b", "/y=%252e%252e%252fetc"}},
		{"undecodable", `{"x": "..%c0%af..%c0%afetc", "y": "%2525252e%2525252e%2525252f", "z": "50%off"}`, []string{"/x=..%c0%af..%c0%afetc", "/y=%2525252e%2525252e%2525252f"}},
		{"lookalikes", `{"x": "～/x", "y": "．．／etc", "z": "／etc／passwd"}`, []string{"/x=～/x", "/y=．．／etc", "/z=／etc／passwd"}},
		{"blank padded", `{"x": "  /etc/passwd "}`, []string{"/x=  /etc/passwd "}},
		{"top-level string", `"/etc/passwd"`, []string{"=/etc/passwd"}},
		{"top-level array", `["/a", "prose"]`, []string{"/0=/a"}},

		// Prose, URLs and data: not paths.
		{"prose", `{"text": "cats and/or dogs", "b": "Hello world", "c": "1..10", "d": "wait...", "e": "3/4 of a cup", "f": "see ../README maybe", "g": "", "h": "cat ../../x", "i": "see https://example.com/a/../b", "j": "x=http://h/../y", "k": "%20../x%20y"}`, nil},
		{"urls", `{"u": "https://example.com/a/../b", "v": "http://x/..", "w": "s3://bucket/../x", "x": "git+ssh://h/../r"}`, nil},
		{"slash prose", `{"a": "/help me please", "b": "/* comment */", "c": "// note", "d": "/ 2", "e": "//\tx"}`, nil},
		{"multi-line", `{"code": "line1\n/etc/passwd", "c": "/etc/passwd\n", "d": "../x\r\n"}`, nil},
		{"base64 image", `{"data": "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJCIsJx0cKDcpLDAxNDQ0Hyc5PTgyPC4zNDL"}`, nil},
		{"tilde prose", `{"a": "~5 minutes", "b": "~approximately", "c": "~~strike~~"}`, nil},
		{"numbers", `{"a": 1, "b": [1, 2.5], "c": false, "d": null}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pointers(fx.a.Facts(decodeJSON(t, tc.args)))
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFactsGoValues(t *testing.T) {
	fx := newFixture(t, nil)
	got := pointers(fx.a.Facts(map[string]any{
		"paths": []string{"a", "b"},
		"env":   map[string]string{"dir": "c", "x": "y"},
		"n":     42,
	}))
	want := []string{"/env/dir=c", "/paths/0=a", "/paths/1=b"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, v := range []any{json.RawMessage(`{"path":"/etc/shadow"}`), []byte("/etc/shadow"), struct{ Path string }{"/etc/shadow"}, map[string]any{"x": []int{1}}} {
		f := fx.a.Facts(v)
		if len(f) != 1 || f[0].Error != ErrUnsupported.Error() {
			t.Errorf("Facts(%T) = %+v, want an unsupported-type error", v, f)
		}
	}
	if f := fx.a.Facts(map[string]any{"n": json.Number("1"), "i": 3, "b": false, "f": 1.5, "z": nil}); len(f) != 0 {
		t.Errorf("scalars gave facts: %+v", f)
	}
	if f := fx.a.Facts(nil); f == nil || len(f) != 0 {
		t.Errorf("Facts(nil) = %#v, want an empty slice", f)
	}
	b, _ := json.Marshal(fx.a.Facts(map[string]any{}))
	if string(b) != "[]" {
		t.Errorf("no facts encode as %s", b)
	}
}

func TestFactsLimits(t *testing.T) {
	fx := newFixture(t, nil)

	many := make([]any, MaxPaths+40)
	for i := range many {
		many[i] = fmt.Sprint("f", i)
	}
	facts := fx.a.Facts(map[string]any{"paths": many})
	if len(facts) != MaxPaths+1 {
		t.Fatalf("%d facts, want %d", len(facts), MaxPaths+1)
	}
	last := facts[MaxPaths]
	if last.Error != ErrTooManyPaths.Error() || last.Pointer != fmt.Sprint("/paths/", MaxPaths) {
		t.Errorf("last fact %+v", last)
	}

	var deep any = "/etc/passwd"
	for range MaxDepth + 10 {
		deep = []any{deep}
	}
	facts = fx.a.Facts(map[string]any{"x": deep})
	if len(facts) != 1 || facts[0].Error != ErrTooDeep.Error() {
		t.Errorf("deep: %+v", facts)
	}
	if !strings.HasPrefix(facts[0].Pointer, "/x/0/0/") {
		t.Errorf("deep pointer %q", facts[0].Pointer)
	}

	long := "/" + strings.Repeat("a.", MaxRawBytes/2)
	facts = fx.a.Facts(map[string]any{"path": long, "other": long})
	if len(facts) != 2 || facts[0].Error != ErrTooLong.Error() || facts[1].Error != ErrTooLong.Error() {
		t.Errorf("long: %+v", pointers(facts))
	}

	// A Go value that refers to itself ends, by depth and node budget.
	cyc := map[string]any{}
	cyc["a"], cyc["b"] = cyc, cyc
	facts = fx.a.Facts(cyc)
	if len(facts) == 0 || facts[len(facts)-1].Error == "" {
		t.Errorf("cycle: %d facts", len(facts))
	}
}

func TestFactsConcurrent(t *testing.T) {
	fx := newFixture(t, nil)
	args := decodeJSON(t, fx.p(`{"source": "$B/root/link-out/secret.txt", "destination": "../x", "paths": ["~/.ssh/id_rsa", "%2e%2e%2f", "／etc"], "note": "and/or"}`))
	want := fx.a.Facts(args)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := fx.a.Facts(args); !slices.Equal(got, want) {
					t.Errorf("concurrent Facts differ")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestFactsGolden(t *testing.T) {
	fx := newFixture(t, nil)
	args := decodeJSON(t, fx.p(`{
		"source": "$B/root/proj/file.txt",
		"destination": "../../outside/copy.txt",
		"paths": ["sub/new.md", "$B/root/link-out/secret.txt", "%252e%252e%252f%252e%252e%252foutside", "～/.ssh/id_rsa"],
		"options": {"cwd": "$B/root-evil", "dryRun": true},
		"edits": [{"path": "file.txt\u0000.png", "oldText": "a/b", "newText": "see ../notes"}],
		"uri": "file://$B/root/dangling",
		"windows": "C:\\Users\\bob\\.aws\\credentials",
		"note": "copy it and/or move it, see https://example.com/a/../b",
		"a/b~c": {"target": "~nobody/x"}
	}`))
	b, err := json.MarshalIndent(fx.a.Facts(args), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "facts.golden.json", []byte(strings.ReplaceAll(string(b), fx.base, "$B")+"\n"))
}

func TestLastWord(t *testing.T) {
	for in, want := range map[string]string{
		"sourcePath": "path", "URLPath": "path", "FILE_PATH": "path", "output_file": "file",
		"FILEPATH": "filepath", "path": "path", "base-dir": "dir", "sourcePATH": "path",
		"x": "x", "": "", "a_": "a", "Ünïcode_Dir": "dir", "path2": "path2",
	} {
		if got := lastWord(in); got != want {
			t.Errorf("lastWord(%q) = %q, want %q", in, got, want)
		}
	}
}
