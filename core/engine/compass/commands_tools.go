package compass

import "strings"

// gitReads are git subcommands that only read.
var gitReads = map[string]bool{
	"status": true, "log": true, "diff": true, "show": true, "blame": true, "ls-files": true,
	"rev-parse": true, "describe": true, "shortlog": true, "grep": true, "reflog": true,
	"ls-remote": true, "cat-file": true, "help": true, "version": true, "fetch": true,
	"whatchanged": true, "count-objects": true, "fsck": true, "config": true, "remote": true,
}

// classifyGit recognises git's subcommands with their flags.
func classifyGit(args []string, add emit) commandClass {
	// Global options before the subcommand.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		opt := args[0]
		args = args[1:]
		if (opt == "-C" || opt == "-c" || opt == "--git-dir" || opt == "--work-tree" || opt == "--namespace") && len(args) > 0 {
			args = args[1:]
		}
	}
	if len(args) == 0 {
		return readCommand
	}
	sub, rest := args[0], args[1:]
	f := parseFlags(rest)
	switch sub {
	case "push":
		forced := false
		if f.any("f", "force", "force-with-lease", "force-if-includes", "mirror") {
			add(KindDestructive, "git push "+flagText(rest, "f", "", "force", "force-with-lease")+mirrorText(f))
			forced = true
		}
		for _, o := range f.operands {
			if strings.HasPrefix(o, "+") {
				add(KindDestructive, "git push +"+strings.TrimPrefix(o, "+"))
				forced = true
			}
			if strings.HasPrefix(o, ":") && len(o) > 1 {
				add(KindDestructive, "git push :"+o[1:])
			}
		}
		if f.any("d", "delete") {
			add(KindDestructive, "git push --delete")
		}
		if forced {
			add(KindBypass, "force push")
		}
		add(KindExternalize, "git push")
	case "reset":
		if f.long["hard"] || f.long["merge"] || f.long["keep"] {
			add(KindDestructive, "git reset --hard")
		} else {
			add(KindReversible, "git reset")
		}
	case "clean":
		switch {
		case f.any("n", "dry-run"):
			return readCommand
		case f.any("f", "force"):
			m := "git clean -f"
			if f.any("d") {
				m = "git clean -fd"
			}
			if f.any("x", "X") {
				m += "x"
			}
			add(KindDestructive, m)
		default:
			add(KindWrite, "git clean")
		}
	case "checkout", "restore":
		if hasAny(rest, "--", ".") || (sub == "restore" && !f.any("S", "staged")) || f.any("f", "force") {
			add(KindDestructive, "git "+sub+" (discards uncommitted changes)")
		} else {
			add(KindWrite, "git "+sub)
		}
	case "branch":
		switch {
		case f.any("D") || (f.any("d", "delete") && f.any("f", "force")):
			add(KindReversible, "git branch -D")
		case f.any("d", "delete"):
			add(KindReversible, "git branch -d")
		case f.any("mMc", "move", "copy", "set-upstream-to", "unset-upstream") || len(f.operands) > 0:
			add(KindWrite, "git branch")
		default:
			return readCommand
		}
	case "stash":
		if len(f.operands) > 0 && (f.operands[0] == "drop" || f.operands[0] == "clear") {
			add(KindDestructive, "git stash "+f.operands[0])
		} else if len(f.operands) > 0 && (f.operands[0] == "list" || f.operands[0] == "show") {
			return readCommand
		} else {
			add(KindWrite, "git stash")
		}
	case "commit":
		if f.long["amend"] {
			add(KindReversible, "git commit --amend")
		} else {
			add(KindWrite, "git commit")
		}
	case "rebase":
		add(KindReversible, "git rebase")
	case "filter-branch", "filter-repo":
		add(KindDestructive, "git "+sub)
	case "gc", "prune":
		if sub == "prune" || f.long["prune"] {
			add(KindDestructive, "git "+sub+" --prune")
		} else {
			add(KindWrite, "git gc")
		}
	case "tag":
		switch {
		case f.any("d", "delete"):
			add(KindReversible, "git tag -d")
		case len(f.operands) > 0:
			add(KindWrite, "git tag")
		default:
			return readCommand
		}
	default:
		if gitReads[sub] {
			if sub == "reflog" && len(f.operands) > 0 && (f.operands[0] == "expire" || f.operands[0] == "delete") {
				add(KindDestructive, "git reflog "+f.operands[0])
				return writeCommand
			}
			if sub == "remote" && len(f.operands) > 0 && f.operands[0] != "show" && f.operands[0] != "get-url" {
				add(KindWrite, "git remote "+f.operands[0])
				return writeCommand
			}
			if sub == "config" && len(f.operands) > 1 {
				add(KindWrite, "git config")
				return writeCommand
			}
			return readCommand
		}
		add(KindWrite, "git "+sub)
	}
	return writeCommand
}

func mirrorText(f flags) string {
	if f.long["mirror"] {
		return " --mirror"
	}
	return ""
}

func classifyKube(name string, f flags, add emit) commandClass {
	if len(f.operands) == 0 {
		return unknownCommand
	}
	switch sub := f.operands[0]; sub {
	case "get", "describe", "logs", "top", "explain", "version", "api-resources", "diff", "list", "status", "history", "template", "show", "search":
		return readCommand
	case "delete", "uninstall", "drain", "cordon":
		add(KindDestructive, name+" "+sub)
	case "apply", "create", "replace", "patch", "scale", "rollout", "set", "install", "upgrade", "edit", "label", "annotate", "exec", "run", "cp":
		add(KindWrite, name+" "+sub)
		if f.long["force"] {
			add(KindBypass, name+" "+sub+" --force")
		}
	default:
		add(KindWrite, name+" "+sub)
	}
	return writeCommand
}

func classifyTerraform(name string, args []string, f flags, add emit) commandClass {
	if len(f.operands) == 0 {
		return unknownCommand
	}
	switch sub := f.operands[0]; sub {
	case "plan", "show", "validate", "fmt", "output", "version", "providers", "graph", "init":
		return readCommand
	case "destroy":
		add(KindDestructive, name+" destroy")
	case "apply":
		if hasAny(args, "-destroy", "--destroy") {
			add(KindDestructive, name+" apply -destroy")
		}
		add(KindExternalize, name+" apply")
	default:
		add(KindWrite, name+" "+sub)
	}
	if hasAny(args, "-auto-approve", "--auto-approve") {
		add(KindBypass, name+" -auto-approve")
	}
	return writeCommand
}

func classifyDocker(name string, f flags, add emit) commandClass {
	if len(f.operands) == 0 {
		return unknownCommand
	}
	sub := f.operands[0]
	if len(f.operands) > 1 && (sub == "system" || sub == "volume" || sub == "image" || sub == "container" || sub == "network") {
		sub += " " + f.operands[1]
	}
	switch sub {
	case "ps", "images", "logs", "inspect", "version", "info", "image ls", "volume ls", "container ls", "network ls":
		return readCommand
	case "rm", "rmi", "system prune", "volume rm", "volume prune", "image prune", "container prune", "network rm", "kill":
		add(KindDestructive, name+" "+sub)
	case "push":
		add(KindExternalize, name+" push")
	default:
		add(KindWrite, name+" "+sub)
	}
	return writeCommand
}

func classifyPackager(name string, f flags, add emit) commandClass {
	if len(f.operands) == 0 {
		return unknownCommand
	}
	sub := f.operands[0]
	switch {
	case sub == "publish" || (name == "twine" && sub == "upload") || (name == "gh" && sub == "release"):
		add(KindExternalize, name+" "+sub)
	case name == "gh" && (sub == "pr" || sub == "issue") && len(f.operands) > 1 && (f.operands[1] == "merge" || f.operands[1] == "create" || f.operands[1] == "comment" || f.operands[1] == "close"):
		add(KindExternalize, name+" "+sub+" "+f.operands[1])
	case name == "gh" && sub == "repo" && len(f.operands) > 1 && f.operands[1] == "delete":
		add(KindDestructive, "gh repo delete")
	case sub == "unpublish" || (name == "npm" && sub == "deprecate"):
		add(KindDestructive, name+" "+sub)
	case sub == "test" || sub == "ls" || sub == "list" || sub == "view" || sub == "info" || sub == "outdated" || sub == "audit" || sub == "check" || sub == "search" || sub == "status":
		return readCommand
	default:
		add(KindWrite, name+" "+sub)
	}
	return writeCommand
}

// classifyFetch: curl and wget read unless they send data, use a writing
// method or save a file.
func classifyFetch(name string, args []string, f flags, add emit) commandClass {
	sends := f.any("dFT", "data", "data-binary", "data-raw", "data-urlencode", "form", "upload-file", "post-data", "post-file", "json")
	method := ""
	for i, a := range args {
		if (a == "-X" || a == "--request") && i+1 < len(args) {
			method = strings.ToUpper(args[i+1])
		} else if strings.HasPrefix(a, "-X") && len(a) > 2 {
			method = strings.ToUpper(a[2:])
		} else if strings.HasPrefix(a, "--request=") {
			method = strings.ToUpper(strings.TrimPrefix(a, "--request="))
		}
	}
	switch {
	case method == "DELETE":
		add(KindDestructive, name+" -X DELETE")
	case sends || method == "POST" || method == "PUT" || method == "PATCH":
		add(KindExternalize, name+" (sends data)")
	case name == "wget" || f.any("oO", "output", "remote-name"):
		add(KindWrite, name+" (saves a file)")
	default:
		return readCommand
	}
	return writeCommand
}
