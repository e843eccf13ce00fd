package compass

import (
	"fmt"
	"strings"
)

// Stakes of an action: how bad a mistake would be.
type Stakes string

// Stakes.
const (
	Low      Stakes = "low"
	Medium   Stakes = "medium"
	High     Stakes = "high"
	Critical Stakes = "critical"
)

// Classifications.
const (
	Proceed = "PROCEED"
	Pause   = "PAUSE"
	Witness = "WITNESS"
)

// Signal kinds.
const (
	// KindWitness: a question of ethics or consent.
	KindWitness = "witness"
	// KindAuthority: going around whoever holds authority (a board, a
	// review, an approval).
	KindAuthority = "authority_bypass"
	// KindDestructive: loses data or state for good (rm -rf, git push -f,
	// DROP TABLE, terraform destroy).
	KindDestructive = "destructive"
	// KindReversible: rewrites, but there is a way back (git commit
	// --amend, rebase, branch -D: the reflog).
	KindReversible = "reversible"
	// KindBypass: switches a safeguard off (--no-verify, skipping tests,
	// chmod 777).
	KindBypass = "bypass"
	// KindExternalize: something leaves (push, publish, deploy, email).
	KindExternalize = "externalize"
	// KindDefinitive: a claim of being done or verified.
	KindDefinitive = "definitive"
	// KindWrite: changes files or state.
	KindWrite = "write"
	// KindUnknownCommand: a command compass does not know.
	KindUnknownCommand = "unknown_command"
)

// Signal is one reason for caution: its kind and the words that fired it.
type Signal struct {
	Kind  string `json:"kind"`
	Match string `json:"match"`
}

// Result is compass's advice on an action.
type Result struct {
	Classification string   `json:"classification"`
	Rationale      string   `json:"rationale"`
	Signals        []Signal `json:"risk_signals"`
	// ReadOnly are the words or commands that mark the action as reading
	// only (what lets it proceed at critical stakes).
	ReadOnly      []string `json:"read_only_signals"`
	Verifications []string `json:"suggested_verifications"`
	Stakes        Stakes   `json:"stakes"`
}

// maxSignals bounds the signals reported.
const maxSignals = 64

// Table is the effect of stakes, for documentation (the tool description
// and docs quote it).
const Table = `signals \ stakes                  low       medium    high      critical
witness, authority_bypass         WITNESS   WITNESS   WITNESS   WITNESS
destructive, bypass, externalize  PAUSE     PAUSE     PAUSE     PAUSE
reversible, definitive            PROCEED*  PAUSE     PAUSE     PAUSE
write, unknown_command            PROCEED*  PROCEED*  PAUSE     PAUSE
read-only only                    PROCEED   PROCEED   PROCEED   PROCEED
nothing recognised                PROCEED   PROCEED   PROCEED   PAUSE
(* with suggested verifications)`

// Check classifies action (with its context) at the given stakes (empty:
// medium).
func Check(action, context string, stakes Stakes) Result {
	if stakes == "" {
		stakes = Medium
	}
	text := Normalize(action)
	if c := Normalize(context); strings.TrimSpace(c) != "" {
		text += "\n" + c
	}
	var (
		signals []Signal
		reads   []string
		seen    = map[Signal]bool{}
	)
	add := func(kind, match string) {
		s := Signal{Kind: kind, Match: match}
		if seen[s] || len(signals) >= maxSignals {
			return
		}
		seen[s] = true
		signals = append(signals, s)
	}
	addRead := func(m string) {
		for _, r := range reads {
			if r == m {
				return
			}
		}
		if len(reads) < maxSignals {
			reads = append(reads, m)
		}
	}
	// Commands, with their flags.
	cmds := splitCommands(text)
	raw := splitCommandsRaw(text)
	for i, c := range cmds {
		var prev *command
		if i > 0 {
			prev = &cmds[i-1]
		}
		raw0 := ""
		if i < len(raw) {
			raw0 = raw[i]
		}
		switch classifyCommand(c, prev, raw0, add) {
		case readCommand:
			addRead(strings.Join(c.argv[:min(2, len(c.argv))], " "))
		case unknownCommand:
			add(KindUnknownCommand, c.argv[0])
		}
	}
	// Whole words, and SQL statements.
	ws := words(text)
	scanPhrases(ws, add)
	scanSQL(strings.ToLower(text), add)
	for _, m := range readWordMatches(ws) {
		addRead(m)
	}
	return decide(signals, reads, stakes)
}

// splitCommandsRaw returns the first word of each command as written
// (before wrappers and paths are removed), aligned with splitCommands.
func splitCommandsRaw(text string) []string {
	var out []string
	for _, c := range splitCommandsNoUnwrap(text) {
		out = append(out, rawFirst(c))
	}
	return out
}

func rawFirst(argv []string) string {
	for _, w := range argv {
		if wrappers[base(w)] || strings.HasPrefix(w, "-") || strings.Contains(w, "=") {
			continue
		}
		return w
	}
	return ""
}

// readWordMatches: every read-only word of ws.
func readWordMatches(ws []string) []string {
	var out []string
	for _, w := range ws {
		if readWords.slots[0].alts[w] {
			out = append(out, w)
		}
	}
	return out
}

// decide applies the stakes table.
func decide(signals []Signal, reads []string, stakes Stakes) Result {
	res := Result{Signals: signals, ReadOnly: reads, Stakes: stakes, Verifications: verifications(signals)}
	if res.Signals == nil {
		res.Signals = []Signal{}
	}
	if res.ReadOnly == nil {
		res.ReadOnly = []string{}
	}
	by := map[string][]string{}
	for _, s := range signals {
		by[s.Kind] = append(by[s.Kind], s.Match)
	}
	has := func(kinds ...string) bool {
		for _, k := range kinds {
			if len(by[k]) > 0 {
				return true
			}
		}
		return false
	}
	cite := func(kinds ...string) string {
		var parts []string
		for _, k := range kinds {
			if len(by[k]) > 0 {
				parts = append(parts, k+" "+quoteAll(by[k]))
			}
		}
		return strings.Join(parts, "; ")
	}
	pause := func(why string) Result {
		res.Classification, res.Rationale = Pause, fmt.Sprintf("PAUSE at %s stakes: %s.", stakes, why)
		return res
	}
	proceed := func(why string) Result {
		res.Classification, res.Rationale = Proceed, fmt.Sprintf("PROCEED at %s stakes: %s.", stakes, why)
		return res
	}
	const always = "destructive, bypass and externalize signals pause at every stakes"
	switch {
	case has(KindWitness, KindAuthority):
		res.Classification = Witness
		res.Rationale = fmt.Sprintf("WITNESS: a question of ethics, consent or authority that a person should weigh in on (%s).",
			cite(KindWitness, KindAuthority))
		return res
	case has(KindDestructive, KindBypass, KindExternalize):
		return pause(cite(KindDestructive, KindBypass, KindExternalize) + " (" + always + ")")
	}
	switch stakes {
	case Low:
		if has(KindReversible, KindDefinitive, KindWrite, KindUnknownCommand) {
			return proceed(cite(KindReversible, KindDefinitive, KindWrite, KindUnknownCommand) + " (at low stakes these proceed after the suggested verifications)")
		}
	case Medium:
		if has(KindReversible, KindDefinitive) {
			return pause(cite(KindReversible, KindDefinitive) + " (from medium stakes up, reversible changes and claims of completion pause)")
		}
		if has(KindWrite, KindUnknownCommand) {
			return proceed(cite(KindWrite, KindUnknownCommand) + " (at medium stakes writes proceed after the suggested verifications)")
		}
	case High:
		if has(KindReversible, KindDefinitive, KindWrite, KindUnknownCommand) {
			return pause(cite(KindReversible, KindDefinitive, KindWrite, KindUnknownCommand) + " (at high stakes anything that may write pauses)")
		}
	case Critical:
		if has(KindReversible, KindDefinitive, KindWrite, KindUnknownCommand) {
			return pause(cite(KindReversible, KindDefinitive, KindWrite, KindUnknownCommand) + " (at critical stakes only an explicitly read-only action proceeds)")
		}
		if len(reads) == 0 {
			return pause("nothing marks the action as read-only (at critical stakes only an explicitly read-only action proceeds)")
		}
	}
	if len(reads) > 0 {
		return proceed("read-only " + quoteAll(reads) + "; no risk signals")
	}
	return proceed("no risk signals")
}

func quoteAll(ms []string) string {
	q := make([]string, len(ms))
	for i, m := range ms {
		q[i] = fmt.Sprintf("%q", m)
	}
	return strings.Join(q, ", ")
}

// verifications are the checks worth making first, by signal kind.
func verifications(signals []Signal) []string {
	var out []string
	done := map[string]bool{}
	addV := func(v string) {
		if !done[v] {
			done[v] = true
			out = append(out, v)
		}
	}
	for _, s := range signals {
		switch s.Kind {
		case KindWitness, KindAuthority:
			addV("Ask the people affected, or whoever holds the authority, before acting; record their answer.")
		case KindDestructive:
			addV("List exactly what will be removed or overwritten first (a dry run: ls, git clean -n, terraform plan, SELECT with the same WHERE) and make sure a backup or another way back exists.")
		case KindReversible:
			addV("Make sure the way back works before relying on it (git reflog, a revert, a backup).")
			if strings.Contains(s.Match, "amend") || strings.Contains(s.Match, "rebase") {
				addV("Rewriting commits is safe only if they are not pushed: check `git status` (ahead of the remote, never behind or diverged) or a force push will follow.")
			}
		case KindBypass:
			addV("Find out why the safeguard exists and whether its owner agrees to going around it; prefer fixing what it reports.")
		case KindExternalize:
			addV("Check what leaves, who receives it and whether it can be withdrawn; confirm the target (branch, environment, recipient).")
		case KindDefinitive:
			addV("Show the evidence (a test run, a diff, the output) before declaring it done.")
		case KindWrite:
			addV("Look at what will change (a diff or a dry run) and make sure it is under version control or backed up.")
		case KindUnknownCommand:
			addV("Read what " + fmt.Sprintf("%q", s.Match) + " does (its --help or its source) before running it.")
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}
