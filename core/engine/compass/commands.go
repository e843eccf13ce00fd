package compass

import (
	"strings"
)

// flags are the options of a command: the letters of short options
// ("-rf" is r and f, "-r -f" too), the long options (without "--", value
// cut at '='), and the other words (operands).
type flags struct {
	short    map[rune]bool
	long     map[string]bool
	operands []string
}

// parseFlags reads args; after "--" every word is an operand.
func parseFlags(args []string) flags {
	f := flags{short: map[rune]bool{}, long: map[string]bool{}}
	dashdash := false
	for _, a := range args {
		switch {
		case dashdash || a == "-" || !strings.HasPrefix(a, "-"):
			f.operands = append(f.operands, a)
		case a == "--":
			dashdash = true
		case strings.HasPrefix(a, "--"):
			name, _, _ := strings.Cut(a[2:], "=")
			f.long[name] = true
		default:
			for _, r := range a[1:] {
				f.short[r] = true
			}
		}
	}
	return f
}

func (f flags) any(short string, long ...string) bool {
	for _, r := range short {
		if f.short[r] {
			return true
		}
	}
	for _, l := range long {
		if f.long[l] {
			return true
		}
	}
	return false
}

// commandClass is what a recognised command does.
type commandClass int

const (
	notCommand     commandClass = iota // prose, not a command line
	readCommand                        // reads only
	writeCommand                       // writes (signals say how much)
	unknownCommand                     // looks like a command compass does not know
)

// readOnlyCommands read and print; they write nothing (unless redirected).
var readOnlyCommands = map[string]bool{
	"ls": true, "cat": true, "less": true, "more": true, "head": true, "tail": true, "grep": true,
	"egrep": true, "fgrep": true, "rg": true, "ag": true, "wc": true, "du": true, "df": true,
	"pwd": true, "echo": true, "printf": true, "which": true, "whoami": true, "stat": true, "file": true,
	"tree": true, "ps": true, "top": true, "printenv": true, "date": true, "uname": true, "id": true,
	"jq": true, "yq": true, "sort": true, "uniq": true, "diff": true, "cmp": true, "sha256sum": true,
	"sha1sum": true, "md5sum": true, "awk": true, "cut": true, "tr": true, "column": true,
	"hostname": true, "uptime": true, "free": true, "lsof": true, "realpath": true, "dirname": true,
	"basename": true, "type": true, "man": true, "nl": true, "od": true, "xxd": true, "hexdump": true,
	"strings": true, "test": true, "true": true, "false": true, "sleep": true,
}

// writeCommands change files or state without destroying data by
// themselves.
var writeCommands = map[string]bool{
	"mv": true, "cp": true, "mkdir": true, "touch": true, "tee": true, "ln": true, "chown": true,
	"chgrp": true, "install": true, "patch": true, "make": true, "npm": true, "yarn": true, "pnpm": true,
	"pip": true, "pip3": true, "apt": true, "apt-get": true, "brew": true, "go": true, "cargo": true,
	"docker": true, "podman": true, "kubectl": true, "helm": true, "terraform": true, "tofu": true,
	"psql": true, "mysql": true, "sqlite3": true, "systemctl": true, "crontab": true, "ssh": true,
	"scp": true, "rsync": true, "gh": true, "aws": true, "gcloud": true, "az": true, "sed": true,
	"perl": true, "python": true, "python3": true, "node": true, "ruby": true, "sh": true, "bash": true,
	"zsh": true, "curl": true, "wget": true, "find": true, "chmod": true, "git": true, "rm": true,
	"rmdir": true, "shred": true, "unlink": true, "dd": true, "truncate": true, "kill": true,
	"pkill": true, "killall": true, "reboot": true, "shutdown": true, "twine": true, "mkfs": true,
	"fdisk": true, "parted": true, "wipefs": true, "useradd": true, "userdel": true, "passwd": true,
}

var shells = map[string]bool{
	"sh": true, "bash": true, "zsh": true, "dash": true, "ksh": true, "fish": true,
	"python": true, "python3": true, "perl": true, "ruby": true, "node": true, "php": true,
}

// emit receives a signal.
type emit func(kind, match string)

// classifyCommand recognises one command and emits its signals. prev is
// the command before it (nil for the first), raw0 its first word as
// written.
func classifyCommand(c command, prev *command, raw0 string, add emit) commandClass {
	if len(c.argv) == 0 {
		return notCommand
	}
	name, args := c.argv[0], c.argv[1:]
	f := parseFlags(args)
	// Flags that mean the same whatever the command.
	if f.long["no-verify"] {
		add(KindBypass, name+" --no-verify")
	}
	if f.long["no-preserve-root"] {
		add(KindDestructive, name+" --no-preserve-root")
	}
	for _, r := range c.redirects {
		if r != "/dev/null" && r != "/dev/stderr" && r != "/dev/stdout" {
			add(KindWrite, "> "+r)
		}
	}
	// curl … | sh, bash <(curl …), sh -c "$(curl …)".
	if prev != nil && (c.sep == sepPipe || c.sep == sepSubst) && len(prev.argv) > 0 {
		p := prev.argv[0]
		if (p == "curl" || p == "wget") && shells[name] && c.sep == sepPipe {
			add(KindDestructive, p+" | "+name)
		}
		if (name == "curl" || name == "wget") && shells[p] && c.sep == sepSubst {
			add(KindDestructive, p+" $("+name+")")
		}
	}
	switch {
	case strings.HasPrefix(name, "mkfs"):
		add(KindDestructive, name)
		return writeCommand
	case readOnlyCommands[name]:
		if name == "sed" || name == "awk" {
			break
		}
		if len(c.redirects) > 0 {
			return writeCommand
		}
		return readCommand
	}
	switch name {
	case "rm":
		rec := f.any("rR", "recursive")
		force := f.any("f", "force")
		switch {
		case rec && force:
			add(KindDestructive, "rm "+flagText(args, "rR", "f", "recursive", "force"))
		case rec:
			add(KindDestructive, "rm "+flagText(args, "rR", "", "recursive", ""))
		default:
			add(KindDestructive, "rm")
		}
	case "rmdir", "shred", "unlink", "wipefs", "fdisk", "parted", "userdel":
		add(KindDestructive, name)
	case "truncate":
		add(KindDestructive, "truncate")
	case "dd":
		for _, a := range args {
			if strings.HasPrefix(a, "of=") {
				add(KindDestructive, "dd of=")
				break
			}
		}
	case "chmod":
		mode := ""
		for _, o := range f.operands {
			if o == "777" || o == "0777" || o == "a+rwx" || o == "ugo+rwx" || o == "o+w" || o == "a+w" {
				mode = o
			}
		}
		switch {
		case mode != "" && f.any("R", "recursive"):
			add(KindDestructive, "chmod -R "+mode)
		case mode != "":
			add(KindBypass, "chmod "+mode)
		default:
			add(KindWrite, "chmod")
		}
	case "find":
		for _, a := range args {
			switch a {
			case "-delete":
				add(KindDestructive, "find -delete")
			case "-exec", "-execdir", "-ok", "-okdir":
				add(KindWrite, "find "+a)
			}
		}
		if len(c.redirects) == 0 && !hasAny(args, "-delete", "-exec", "-execdir", "-ok", "-okdir") {
			return readCommand
		}
	case "sed", "perl":
		if f.any("i", "in-place") {
			add(KindWrite, name+" -i")
		} else if name == "sed" && len(c.redirects) == 0 {
			return readCommand
		} else if name == "perl" {
			return unknownCommand
		}
	case "awk":
		if len(c.redirects) == 0 {
			return readCommand
		}
	case "git":
		return classifyGit(args, add)
	case "kubectl", "helm":
		return classifyKube(name, f, add)
	case "terraform", "tofu":
		return classifyTerraform(name, args, f, add)
	case "docker", "podman":
		return classifyDocker(name, f, add)
	case "npm", "yarn", "pnpm", "twine", "cargo", "gh":
		return classifyPackager(name, f, add)
	case "curl", "wget":
		return classifyFetch(name, args, f, add)
	case "scp", "rsync":
		add(KindExternalize, name)
		if name == "rsync" && f.long["delete"] {
			add(KindDestructive, "rsync --delete")
		}
	case "kill", "pkill", "killall", "reboot", "shutdown":
		add(KindDestructive, name)
	case "mv", "cp", "mkdir", "touch", "tee", "ln", "chown", "chgrp", "install", "patch", "make",
		"pip", "pip3", "apt", "apt-get", "brew", "go", "systemctl", "crontab", "useradd", "passwd":
		if name == "go" && len(f.operands) > 0 && (f.operands[0] == "test" || f.operands[0] == "vet" ||
			f.operands[0] == "build" || f.operands[0] == "list" || f.operands[0] == "doc" || f.operands[0] == "version") {
			return readCommand
		}
		if name == "mv" || name == "cp" {
			if !f.any("n", "no-clobber") {
				add(KindWrite, name+" (may overwrite)")
				return writeCommand
			}
		}
		add(KindWrite, name)
	case "psql", "mysql", "sqlite3":
		add(KindWrite, name)
	case "ssh", "aws", "gcloud", "az", "python", "python3", "node", "ruby", "sh", "bash", "zsh":
		return unknownCommand
	default:
		if writeCommands[name] {
			add(KindWrite, name)
			return writeCommand
		}
		if looksLikeCommand(raw0, args) {
			return unknownCommand
		}
		return notCommand
	}
	return writeCommand
}

// looksLikeCommand: a word we do not know that is written like a program
// (a path, a script name) or followed by options.
func looksLikeCommand(raw0 string, args []string) bool {
	if strings.Contains(raw0, "/") || strings.HasSuffix(raw0, ".sh") || strings.HasSuffix(raw0, ".py") ||
		strings.HasSuffix(raw0, ".js") || strings.HasSuffix(raw0, ".pl") {
		return true
	}
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' && a != "--" && !isNumber(a[1:]) {
			return true
		}
	}
	return false
}

func isNumber(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return s != ""
}

func hasAny(args []string, want ...string) bool {
	for _, a := range args {
		for _, w := range want {
			if a == w {
				return true
			}
		}
	}
	return false
}

// flagText shows the flags as written that carry the given short letters
// or long names ("-r -f", "-rf", "--recursive --force").
func flagText(args []string, short1, short2, long1, long2 string) string {
	var out []string
	for _, a := range args {
		switch {
		case a == "--":
			return strings.Join(out, " ")
		case strings.HasPrefix(a, "--"):
			n, _, _ := strings.Cut(a[2:], "=")
			if n == long1 || (long2 != "" && n == long2) {
				out = append(out, a)
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if strings.ContainsAny(a[1:], short1) || (short2 != "" && strings.ContainsAny(a[1:], short2)) {
				out = append(out, a)
			}
		}
	}
	return strings.Join(out, " ")
}
