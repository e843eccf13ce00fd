package compass

import (
	"path"
	"strings"
)

// Separators between the commands of a line.
const (
	sepNone  = ""   // the first command
	sepSeq   = ";"  // ;, &, &&, ||, a newline
	sepPipe  = "|"  // the previous command's output is this one's input
	sepSubst = "$(" // this command runs inside a substitution of the previous
)

// command is one simple command: its words (quotes removed) and how it is
// joined to the command before it. Redirects are kept apart.
type command struct {
	argv      []string
	sep       string
	redirects []string // targets of > and >>
}

// maxCommands and maxWords bound the parse (the input is at most a few KiB).
const (
	maxCommands = 256
	maxWords    = 4096
)

// splitCommands splits normalised text the way a shell would, roughly:
// quotes group words ('…' literally, "…" with backslash escapes), a
// backslash escapes the next character, and ;, &, &&, ||, |, newlines,
// $( … ), ` … ` and <( … ) separate commands. It never fails: an
// unterminated quote runs to the end.
func splitCommands(s string) []command {
	out := splitRaw(s)
	for i := range out {
		out[i].argv = unwrap(out[i].argv)
	}
	return out
}

// splitCommandsNoUnwrap returns the words of each command as written.
func splitCommandsNoUnwrap(s string) [][]string {
	cmds := splitRaw(s)
	out := make([][]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.argv
	}
	return out
}

// splitRaw is splitCommands without unwrapping.
func splitRaw(s string) []command {
	var (
		out   []command
		cur   command
		word  strings.Builder
		inW   bool // a word is being built (possibly empty: "")
		redir bool // the next word is a redirect target
		n     int
	)
	flushWord := func() {
		if !inW {
			return
		}
		w := word.String()
		word.Reset()
		inW = false
		if n >= maxWords {
			return
		}
		n++
		if redir {
			cur.redirects = append(cur.redirects, w)
			redir = false
			return
		}
		cur.argv = append(cur.argv, w)
	}
	flushCmd := func(next string) {
		flushWord()
		redir = false
		if len(cur.argv) > 0 || len(cur.redirects) > 0 {
			if len(out) < maxCommands {
				out = append(out, cur)
			}
		}
		cur = command{sep: next}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case r == '\\' && next != 0:
			word.WriteRune(next)
			inW = true
			i++
		case r == '\'':
			inW = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				word.WriteRune(rs[j])
				j++
			}
			i = j
		case r == '"':
			inW = true
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				word.WriteRune(rs[j])
				j++
			}
			i = j
		case r == ' ' || r == '\t':
			flushWord()
		case r == '\n' || r == ';':
			flushCmd(sepSeq)
		case r == '&':
			if next == '&' {
				i++
			} else if next == '>' { // &> file
				flushWord()
				redir = true
				i++
				if i+1 < len(rs) && rs[i+1] == '>' {
					i++
				}
				continue
			}
			flushCmd(sepSeq)
		case r == '|':
			if next == '|' {
				i++
				flushCmd(sepSeq)
			} else {
				if next == '&' {
					i++
				}
				flushCmd(sepPipe)
			}
		case r == '$' && next == '(':
			i++
			flushCmd(sepSubst)
		case (r == '<' || r == '>') && next == '(':
			i++
			flushCmd(sepSubst)
		case r == '`':
			flushCmd(sepSubst)
		case r == ')':
			flushCmd(sepSeq)
		case r == '>':
			flushWord()
			if next == '>' {
				i++
			}
			if i+1 < len(rs) && rs[i+1] == '&' { // 2>&1
				i++
				for i+1 < len(rs) && rs[i+1] >= '0' && rs[i+1] <= '9' {
					i++
				}
				continue
			}
			// A file descriptor number right before > is not a word.
			if k := len(cur.argv) - 1; k >= 0 && isFD(cur.argv[k]) && i > 0 && rs[i-1] != ' ' {
				cur.argv = cur.argv[:k]
			}
			redir = true
		default:
			word.WriteRune(r)
			inW = true
		}
	}
	flushCmd(sepSeq)
	return out
}

func isFD(w string) bool { return w == "1" || w == "2" || w == "0" }

// wrappers run the command that follows them.
var wrappers = map[string]bool{
	"sudo": true, "doas": true, "env": true, "command": true, "exec": true, "nohup": true,
	"time": true, "nice": true, "ionice": true, "builtin": true, "xargs": true, "watch": true,
	"timeout": true, "stdbuf": true,
}

// unwrap drops wrappers (sudo -u root, env A=b, timeout 5) and reduces the
// command word to its base name (/bin/rm and \rm are rm).
func unwrap(argv []string) []string {
	for len(argv) > 0 {
		name := base(argv[0])
		if !wrappers[name] {
			break
		}
		argv = argv[1:]
		// The wrapper's own options and assignments (and timeout's
		// duration) come before the command.
		for len(argv) > 0 && (strings.HasPrefix(argv[0], "-") || strings.Contains(argv[0], "=") ||
			(name == "timeout" && len(argv[0]) > 0 && argv[0][0] >= '0' && argv[0][0] <= '9')) {
			opt := argv[0]
			argv = argv[1:]
			if name == "sudo" && (opt == "-u" || opt == "-g") && len(argv) > 0 {
				argv = argv[1:]
			}
		}
	}
	// Leading assignments: FOO=1 rm -rf x.
	for len(argv) > 1 && strings.Contains(argv[0], "=") && !strings.HasPrefix(argv[0], "-") {
		argv = argv[1:]
	}
	if len(argv) > 0 {
		argv = append([]string{base(argv[0])}, argv[1:]...)
	}
	return argv
}

// base is a command word's name: its last path element, in lower case.
func base(w string) string {
	if strings.Contains(w, "/") {
		w = path.Base(w)
	}
	return strings.ToLower(w)
}
