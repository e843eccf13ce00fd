package compass

import "strings"

// A phrase is a sequence of word slots matched on whole words. A slot is a
// set of alternatives ("a|b"); "~N" before a slot lets up to N other words
// come first. Patterns are written as text: "without ~3 approval|consent".
type phrase struct {
	kind  string
	slots []slot
}

type slot struct {
	gap  int
	alts map[string]bool
}

func compilePhrase(kind, pattern string) phrase {
	p := phrase{kind: kind}
	gap := 0
	for _, part := range strings.Fields(pattern) {
		if strings.HasPrefix(part, "~") {
			gap = int(part[1] - '0')
			continue
		}
		s := slot{gap: gap, alts: map[string]bool{}}
		for _, a := range strings.Split(part, "|") {
			s.alts[a] = true
		}
		p.slots = append(p.slots, s)
		gap = 0
	}
	return p
}

// match finds the phrase in ws; it returns the matched words, or "".
func (p phrase) match(ws []string) string {
	for start := range ws {
		if !p.slots[0].alts[ws[start]] {
			continue
		}
		if end, ok := p.matchFrom(ws, start+1, 1); ok {
			return strings.Join(ws[start:end], " ")
		}
	}
	return ""
}

func (p phrase) matchFrom(ws []string, i, k int) (int, bool) {
	if k == len(p.slots) {
		return i, true
	}
	s := p.slots[k]
	for skip := 0; skip <= s.gap && i+skip < len(ws); skip++ {
		if s.alts[ws[i+skip]] {
			if end, ok := p.matchFrom(ws, i+skip+1, k+1); ok {
				return end, true
			}
		}
	}
	return 0, false
}

// forms returns a verb with its common inflections: delete, deletes,
// deleted, deleting.
func forms(verbs ...string) string {
	var out []string
	for _, v := range verbs {
		out = append(out, v, v+"s")
		switch {
		case strings.HasSuffix(v, "e"):
			out = append(out, v+"d", v[:len(v)-1]+"ing")
		case strings.HasSuffix(v, "y") && len(v) > 2 && !strings.ContainsRune("aeiou", rune(v[len(v)-2])):
			out = append(out, v[:len(v)-1]+"ied", v[:len(v)-1]+"ies", v+"ing")
		default:
			out = append(out, v+"ed", v+"ing", v+"es")
			// ship, skip, stop, commit, run: shipped, skipping.
			if n := len(v); n >= 3 && !isVowel(v[n-1]) && !strings.ContainsRune("wxy", rune(v[n-1])) && isVowel(v[n-2]) && !isVowel(v[n-3]) {
				out = append(out, v+v[n-1:]+"ed", v+v[n-1:]+"ing")
			}
		}
	}
	return strings.Join(out, "|")
}

func isVowel(b byte) bool { return strings.IndexByte("aeiou", b) >= 0 }

// Word lists of the phrase patterns.
var (
	authorities  = "board|committee|auditor|auditors|regulator|regulators|legal|compliance|ciso|ceo|cto|manager|management|owner|owners|maintainer|maintainers|security|reviewer|reviewers"
	noticeVerbs  = "see|sees|find|finds|notice|notices|know|knows|review|reviews|approve|approves|meet|meets|sign|signs|check|checks|catch|catches|hear|hears|look|looks"
	gates        = "review|reviews|approval|approvals|reviewer|reviewers|policy|policies|gate|gates|governance|compliance|process|board|committee|sign-off|signoff|oversight|audit|controls|guardrails|safeguards"
	safetyChecks = "test|tests|check|checks|ci|hook|hooks|lint|linter|linting|validation|verification|pre-commit|tls|ssl|auth|authentication|2fa|mfa|firewall|sandbox|safety|signature|signatures|certificate|certificates"
)

// phrases are the word-level signals, in the order they are reported.
var phrases = func() []phrase {
	var ps []phrase
	add := func(kind string, patterns ...string) {
		for _, p := range patterns {
			ps = append(ps, compilePhrase(kind, p))
		}
	}
	// Questions of ethics or consent: a person should weigh in.
	add(KindWitness,
		"is|isn't|was ~1 it|this|that ~1 ethical|unethical|moral|immoral|legal|illegal|fair|unfair",
		"should|ought|shall ~0 we|i ~3 ethically|morally",
		"should we", "ought we", "ought to we",
		"without ~3 consent|knowledge|permission",
		"do|does|did|have|has ~3 consent|consented|agreed",
		"their|his|her|user's|users'|user|users|customer|customers|patient|patients ~2 consent",
		forms("deceive", "mislead", "manipulate", "impersonate", "surveil", "coerce", "blackmail"),
		"spy|spying|spied on",
		"consciousness|sentient|sentience|conscious",
		"on ~1 behalf of",
		"don't|dont|never tell", "do not tell", "without telling", "behind ~2 back", "keep ~3 quiet|secret|hidden", "hide|hiding ~4 from",
	)
	// Going around those who hold authority.
	add(KindAuthority,
		"before|until ~1 the|our|my|their ~1 "+authorities+" ~3 "+noticeVerbs,
		"without ~3 approval|approvals|sign-off|signoff|authorization|authorisation|authorisation|review|reviews|oversight",
		forms("bypass", "circumvent", "sidestep", "evade")+" ~3 "+gates,
		"go|going|get|getting around ~2 "+gates,
		forms("skip")+" ~2 approval|approvals|review|reviews|sign-off|signoff|reviewer|reviewers|board|committee",
	)
	add(KindDestructive,
		forms("delete", "erase", "wipe", "destroy", "purge", "obliterate", "nuke", "overwrite", "shred", "truncate", "uninstall"),
		forms("remove")+"|rm|rmdir|mkfs|unlink",
		"drop|dropping|dropped ~1 table|tables|database|databases|schema|schemas|collection|collections|index|column|columns",
		forms("format", "reformat")+" ~2 disk|disks|drive|drives|partition|partitions|volume|volumes",
		"force|forced|forcing ~0 push|pushed|pushing|push-with-lease",
		"force-push|force-pushed|force-pushing|forcepush",
		"hard ~0 reset", "reset|resetting ~2 hard",
		"irreversible|irreversibly|unrecoverable|permanently",
	)
	add(KindReversible,
		forms("amend", "rebase", "squash", "rename", "revert", "rollback"),
		"roll|rolls|rolled|rolling ~0 back",
	)
	add(KindBypass,
		forms("override", "bypass", "circumvent")+"|overrode",
		forms("disable", "skip", "ignore", "suppress", "silence")+" ~3 "+safetyChecks+"|warnings|errors|failures|failing|alerts",
		"no-verify|noverify|forcibly",
		"force|forced ~0 push",
	)
	add(KindExternalize,
		forms("publish", "deploy", "ship", "release", "email", "upload", "tweet", "announce", "broadcast", "leak"),
		forms("send", "share", "forward", "transmit", "export", "expose")+" ~4 to|with|externally|outside|publicly|public",
		forms("push", "merge")+" ~3 main|master|prod|production|origin|remote|upstream|live",
		"to|into|in|on ~0 prod|production|live",
		"go|goes|going ~0 live",
		forms("make")+"|made ~3 public",
	)
	add(KindDefinitive,
		"done|complete|completed|finished|verified|proven|proved|guaranteed|definitely|certainly|confirmed|100%|fixed|resolved",
		"all ~1 tests ~0 pass|passed|passing|green",
		"works|working ~0 perfectly|flawlessly",
	)
	add(KindWrite,
		forms("update", "write", "modify", "change", "edit", "create", "insert", "add", "move", "install", "upgrade",
			"downgrade", "migrate", "apply", "replace", "refactor", "commit", "save", "patch", "configure", "append",
			"fix", "implement", "reindex", "rebuild", "regenerate", "import", "restore", "merge", "rewrite", "generate",
			"overwrite", "set", "reset", "chmod", "chown", "mkdir", "touch", "enable", "disable", "run", "execute",
			"start", "stop", "restart", "kill", "build", "compile", "copy", "upload", "download", "sync", "clone",
			"truncate", "flush", "clear", "empty", "send", "schedule", "assign", "close", "resolve", "mark")+"|wrote|ran|set|built|sent|began|put",
	)
	return ps
}()

// readWords mark an explicitly read-only action.
var readWords = compilePhrase("read", forms("read", "list", "show", "check", "review", "inspect", "view", "summarize",
	"summarise", "describe", "explain", "look", "search", "find", "grep", "count", "diff", "print", "display",
	"analyze", "analyse", "audit", "compare", "examine", "browse", "report", "query", "observe", "measure",
	"scan", "verify", "validate", "trace", "monitor", "watch", "peek", "preview", "study", "recall", "fetch",
	"get", "lookup")+"|status|dry-run|read-only|readonly|what|how|why|which|where|who|when|ls|cat|status")

// scanPhrases emits the word-level signals of ws.
func scanPhrases(ws []string, add emit) {
	for _, p := range phrases {
		if m := p.match(ws); m != "" {
			add(p.kind, m)
		}
	}
}

// scanSQL finds SQL statements in normalised text: DROP TABLE/DATABASE,
// TRUNCATE and DELETE FROM without WHERE are destructive; UPDATE without
// WHERE too; the others write.
func scanSQL(text string, add emit) {
	for _, stmt := range strings.Split(text, ";") {
		ws := words(stmt)
		for i, w := range ws {
			next := ""
			if i+1 < len(ws) {
				next = ws[i+1]
			}
			rest := ws[i+1:]
			switch {
			case w == "drop" && (next == "table" || next == "database" || next == "schema" || next == "collection"):
				add(KindDestructive, "drop "+next)
			case w == "truncate" && next == "table":
				add(KindDestructive, "truncate table")
			case w == "delete" && next == "from":
				if contains(rest, "where") {
					add(KindWrite, "delete from … where")
				} else {
					add(KindDestructive, "delete from without where")
				}
			case w == "update" && len(rest) > 1 && rest[1] == "set":
				if contains(rest, "where") {
					add(KindWrite, "update … set … where")
				} else {
					add(KindDestructive, "update … set without where")
				}
			case w == "alter" && next == "table":
				add(KindWrite, "alter table")
			}
		}
	}
}

func contains(ws []string, w string) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}
