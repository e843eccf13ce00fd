package textfact

import (
	"math/bits"
	"strings"
)

// Defaults for Options.
const (
	DefaultMaxStrings = 512
	DefaultMaxLen     = 64 << 10
)

// Internal bounds that are not configurable.
const (
	maxDepth          = 64      // nesting levels followed below the arguments
	maxVisits         = 1 << 20 // JSON values visited per call
	maxVariants       = 8       // variants per string
	maxRounds         = 3       // decoding rounds (a variant of a variant of a variant)
	variantBudgetMult = 16      // variant bytes kept per call, in units of MaxLen
	workBudgetMult    = 32      // bytes read by decoders per call, in units of MaxLen
	examineMult       = 64      // bytes of strings examined per call, in units of MaxLen
	examineFloor      = 4 << 10 // bytes of each string examined once that is spent
)

// Kinds of argument (Fact.Kind).
const (
	KindCommand = "command"
	KindSQL     = "sql"
	KindURL     = "url"
	KindText    = "text"
)

// Signals (Fact.Signals): neutral observations, listed in sorted order.
// Each is also observed while normalising the variants, so a zero-width
// space hidden as "%E2%80%8B" is signalled "zero_width".
const (
	// SignalBase64: a base64 token decoded to text (a variant holds it).
	SignalBase64 = "base64"
	// SignalBidi: bidi embedding, override or isolate controls were removed;
	// or LRM, RLM or ALM marks in text without right-to-left letters.
	SignalBidi = "bidi"
	// SignalControlChars: control or format characters were removed.
	SignalControlChars = "control_chars"
	// SignalEscapes: \uXXXX, \u{…}, \UXXXXXXXX or \xNN escapes decoded.
	SignalEscapes = "escapes"
	// SignalHiddenText: text may be hidden from a human reader: zero-width,
	// bidi, tag or variation-selector characters as signalled, or markup
	// with an HTML comment or CSS display:none, visibility:hidden,
	// font-size:0 or opacity:0.
	SignalHiddenText = "hidden_text"
	// SignalHTMLEntities: HTML character references decoded.
	SignalHTMLEntities = "html_entities"
	// SignalInvalidUTF8: invalid UTF-8 was replaced by U+FFFD.
	SignalInvalidUTF8 = "invalid_utf8"
	// SignalMixedScripts: a word mixes Latin letters with Cyrillic or Greek
	// ones (a variant maps the look-alikes to Latin).
	SignalMixedScripts = "mixed_scripts"
	// SignalNFKCChanged: NFKC changed the text (full-width letters,
	// ligatures, no-break spaces…).
	SignalNFKCChanged = "nfkc_changed"
	// SignalPercentEncoded: %XX or %uXXXX sequences decoded.
	SignalPercentEncoded = "percent_encoded"
	// SignalTagChars: Unicode tag characters (U+E0000…U+E007F) were removed
	// (a variant spells the ASCII they encode).
	SignalTagChars = "tag_chars"
	// SignalTruncated: the string, or a form of it, was cut before the end.
	SignalTruncated = "truncated"
	// SignalVariantsCapped: decoding stopped at a cap; there may be more
	// decoded forms than the variants listed.
	SignalVariantsCapped = "variants_capped"
	// SignalZeroWidth: zero-width characters were removed, other than a
	// byte order mark at the start and joiners between emoji or letters of
	// scripts other than Latin, Greek and Cyrillic.
	SignalZeroWidth = "zero_width"
)

// signals is a set of signals; bit i is the i-th name in sorted order.
type signals uint32

const (
	sigBase64 signals = 1 << iota
	sigBidi
	sigControlChars
	sigEscapes
	sigHiddenText
	sigHTMLEntities
	sigInvalidUTF8
	sigMixedScripts
	sigNFKCChanged
	sigPercentEncoded
	sigTagChars
	sigTruncated
	sigVariantsCapped
	sigZeroWidth
	sigEnd
)

func signalName(bit signals) string {
	switch bit {
	case sigBase64:
		return SignalBase64
	case sigBidi:
		return SignalBidi
	case sigControlChars:
		return SignalControlChars
	case sigEscapes:
		return SignalEscapes
	case sigHiddenText:
		return SignalHiddenText
	case sigHTMLEntities:
		return SignalHTMLEntities
	case sigInvalidUTF8:
		return SignalInvalidUTF8
	case sigMixedScripts:
		return SignalMixedScripts
	case sigNFKCChanged:
		return SignalNFKCChanged
	case sigPercentEncoded:
		return SignalPercentEncoded
	case sigTagChars:
		return SignalTagChars
	case sigTruncated:
		return SignalTruncated
	case sigVariantsCapped:
		return SignalVariantsCapped
	case sigZeroWidth:
		return SignalZeroWidth
	}
	return ""
}

// list returns the names of the signals in s, sorted.
func (s signals) list() []string {
	if s == 0 {
		return nil
	}
	out := make([]string, 0, bits.OnesCount32(uint32(s)))
	for b := signals(1); b < sigEnd; b <<= 1 {
		if s&b != 0 {
			out = append(out, signalName(b))
		}
	}
	return out
}

// Options configures an Analyzer. The zero value is usable.
type Options struct {
	// MaxStrings caps the string facts per call (default 512). Strings beyond
	// it are counted in Result.Omitted.
	MaxStrings int
	// MaxLen is how many bytes of each string are examined (default 64 KiB).
	// Longer strings are cut for analysis and flagged (Fact.Truncated and the
	// signal "truncated"); Normalized and every variant are at most MaxLen
	// bytes.
	MaxLen int
	// CommandArgs, SQLArgs and URLArgs are extra argument names bound to shell
	// commands, SQL and URLs, besides the defaults. Matching is
	// case-insensitive; "_", "-", "." and spaces are ignored.
	CommandArgs []string
	SQLArgs     []string
	URLArgs     []string
}

// Analyzer computes string facts. It is immutable once built and safe for
// concurrent use.
type Analyzer struct {
	maxStrings int
	maxLen     int
	budget     int               // variant bytes kept per call
	work       int               // bytes read by decoders per call
	examine    int               // bytes of strings examined per call
	names      map[string]string // configured names (lower-case, separators removed) → kind
}

// New returns an Analyzer for opts, with defaults filled in.
func New(opts Options) *Analyzer {
	a := &Analyzer{maxStrings: opts.MaxStrings, maxLen: opts.MaxLen}
	if a.maxStrings <= 0 {
		a.maxStrings = DefaultMaxStrings
	}
	if a.maxLen <= 0 {
		a.maxLen = DefaultMaxLen
	}
	if a.maxLen < 16 {
		a.maxLen = 16 // room for one UTF-8 sequence and a base64 token
	}
	a.budget = mulCap(variantBudgetMult, a.maxLen)
	a.work = mulCap(workBudgetMult, a.maxLen)
	a.examine = mulCap(examineMult, a.maxLen)
	add := func(names []string, kind string) {
		for _, n := range names {
			if k := joinName(strings.ToLower(strings.TrimSpace(n))); k != "" {
				if a.names == nil {
					a.names = make(map[string]string)
				}
				a.names[k] = kind
			}
		}
	}
	// Later wins: a name configured twice gets the most specific kind last.
	add(opts.URLArgs, KindURL)
	add(opts.SQLArgs, KindSQL)
	add(opts.CommandArgs, KindCommand)
	return a
}

// mulCap returns m × n, or the largest int when that overflows.
func mulCap(m, n int) int {
	if p := m * n; p/m == n && p > 0 {
		return p
	}
	return int(^uint(0) >> 1)
}

// Fact describes one string in the arguments of a call.
type Fact struct {
	// Pointer is the RFC 6901 JSON pointer of the string, e.g. "/query" or
	// "/items/0/text"; "" when the arguments are a bare string.
	Pointer string `json:"pointer"`
	// Name is the last object key on the way to the string, lower-cased;
	// "" for array-only paths.
	Name string `json:"name"`
	// Len is the length of the string in bytes, before any cut.
	Len int `json:"len"`
	// Truncated reports that only the first MaxLen bytes were examined, or
	// that a normalised form was cut at MaxLen.
	Truncated bool `json:"truncated"`
	// Kind is "command", "sql", "url" or "text".
	Kind string `json:"kind"`
	// Normalized is the string as the policies should match it: NFKC,
	// invisible, bidi and control characters removed, runs of whitespace
	// collapsed to one space, or to one "\n" when the run holds a line break.
	// Case is kept.
	Normalized string `json:"normalized"`
	// Variants are decoded forms of the string, each normalised, that differ
	// from Normalized and from each other and read as text.
	Variants []string `json:"variants,omitempty"`
	// Signals are neutral observations, sorted (see the Signal constants).
	Signals []string `json:"signals,omitempty"`
	// URL is set for kind url and for any string that reads as an absolute
	// URL.
	URL *URLFact `json:"url,omitempty"`
}

// URLFact describes a URL. Host names are never resolved.
type URLFact struct {
	Scheme string `json:"scheme"`
	Host   string `json:"host"`
	Port   string `json:"port,omitempty"`
	// IP is the canonical form of the host when it is an IP literal in any
	// notation (an IPv4-mapped IPv6 address is given as IPv4).
	IP          string `json:"ip,omitempty"`
	Loopback    bool   `json:"loopback"`
	Private     bool   `json:"private"`
	LinkLocal   bool   `json:"link_local"`
	Metadata    bool   `json:"metadata"`
	Unspecified bool   `json:"unspecified"`
	// UserInfo reports credentials or an "@" in the authority.
	UserInfo bool   `json:"userinfo"`
	Error    string `json:"error,omitempty"`
}

// Result is everything Analyze finds in the arguments of one call.
type Result struct {
	// Strings are the facts, in document order: object keys in byte order,
	// array elements in index order, depth first.
	Strings []Fact `json:"strings"`
	// Omitted counts the strings seen beyond MaxStrings, which have no fact.
	Omitted int `json:"omitted"`
	// Incomplete reports that part of the arguments was not visited at all:
	// nesting deeper than 64 levels, or more than a million values.
	Incomplete bool `json:"incomplete"`
}

// Facts returns a fact for each string in args (decoded JSON: map[string]any,
// []any, string, float64, bool, nil), in document order. See Analyze for what
// the caps cut off.
func (a *Analyzer) Facts(args any) []Fact {
	return a.Analyze(args).Strings
}

// Analyze returns the facts for each string in args and what the caps left
// out. A policy should fail closed when Omitted > 0 or Incomplete is true.
func (a *Analyzer) Analyze(args any) Result {
	return a.AnalyzeFor(args, nil)
}

// AnalyzeFor is Analyze for a call of a tool whose configuration binds some
// arguments to kinds (see ToolArgs); those bindings come before every other
// rule of kind.go. A nil t is Analyze.
func (a *Analyzer) AnalyzeFor(args any, t *ToolArgs) Result {
	var ptr [256]byte
	w := walker{a: a, tool: t, budget: a.budget, work: a.work, examine: a.examine, ptr: ptr[:0]}
	w.walk(args, "", "", 0)
	return Result{Strings: w.facts, Omitted: w.omitted, Incomplete: w.incomplete}
}
