package engine

// Open threads and handoffs (tools of the original's §2.4 and §2.5; files
// threads*.go and handoff*.go).
//
// Storage (migration 3, threadsSchema): open_threads, thread_touches,
// handoffs, handoff_consumptions (one row per consumed handoff: a handoff
// is consume-once) and handoff_acted_on. Threads are kept in their own
// table, not as insights; results carry layer "open_thread". Resolving a
// thread records a ground_truth insight (intensity 0.8) through
// insertInsight, in the same transaction that marks the thread resolved.
// Timestamps are tsLayout (UTC).
//
// For close_session (session_close.go):
//
//	func (e *Engine) insertHandoff(ctx context.Context, tx *sql.Tx, c Caller, note, thread, sourceInstance string) (handoffRecord, error)
//
// For import and export, insertion as is (explicit ids and timestamps,
// nothing derived, no validation beyond the schema's constraints; the
// parent thread/handoff must exist for touches, consumptions and acted-on
// records; a taken id returns false) and iteration in a stable order
// (timestamp, then id or insertion order), stopping at fn's first error:
//
//	func insertThreadRow(ctx context.Context, tx *sql.Tx, rec threadRecord) (bool, error)
//	func insertTouchRow(ctx context.Context, tx *sql.Tx, t touchRecord) error
//	func insertHandoffRow(ctx context.Context, tx *sql.Tx, rec handoffRecord) (bool, error)
//	func insertConsumptionRow(ctx context.Context, tx *sql.Tx, handoffID, ts, session, instance, principal string) (bool, error)
//	func insertActedOnRow(ctx context.Context, tx *sql.Tx, r actedOnRecord) error
//	func eachThread(ctx context.Context, q queryer, fn func(threadRecord) error) error   // with touch_count, last_touched_at
//	func eachTouch(ctx context.Context, q queryer, fn func(touchRecord) error) error
//	func eachHandoff(ctx context.Context, q queryer, fn func(handoffRecord) error) error // with its consumption, if any
//	func eachActedOn(ctx context.Context, q queryer, fn func(actedOnRecord) error) error
//
// The records' JSON names follow the original's files where they had one
// (thread: thread_id, timestamp, question, context, domain, session_id,
// layer, resolved, resolved_at, resolved_by, resolution; handoff:
// timestamp, source_instance, source_session_id, thread, note,
// consumed_at, consumed_by; touch: thread_id, note, instance_id,
// timestamp; acted-on: consumed_by, what_was_done, timestamp with
// handoff_id for handoff_path). Importing the original: keep its thread
// ids; for a handoff, use its file name without ".json" as the id, so that
// handoff_acted_on's handoff_path (a path whose file name is the id) still
// finds it; store its naive local timestamps converted to UTC.
//
// Decisions (the original's bugs fixed):
//   - domains are validated (normalizeDomain) and never used as paths (B2);
//   - resolve_thread writes nothing when no thread matched (B13) and
//     requires exactly one match: a fragment matching several unresolved
//     threads is a conflict listing up to 5 ids; resolving a resolved
//     thread is a conflict;
//   - resolution is one transaction (B10): the thread is resolved and its
//     insight exists, or neither;
//   - thread_touch on a resolved thread is a conflict (a touch marks work
//     on an open thread);
//   - handoffs are consumed only when where_did_i_leave_off is called with
//     consume=true, by and for the calling session, recorded with it (B11);
//     timestamps are UTC (the original's handoffs used naive local time);
//   - thread families (link_threads, coalescing in get_open_threads) are
//     not kept: coalesce_families is accepted for compatibility and has no
//     effect (the result says so).

// threadsTools are the open-thread and handoff tools.
func (e *Engine) threadsTools() []Tool {
	domain := obj{"type": "string", "description": "Domain: up to 16 comma-separated tags (a-z, 0-9, '.', '_', '-')", "minLength": 1, "maxLength": maxDomainArg}
	threadID := patternProp("Thread id (thread_<YYYYMMDD_HHMMSS>_<8 hex>)", threadIDPattern, 128)
	handoffID := patternProp("Handoff id (ho_<YYYYMMDDTHHMMSS>_<8 hex>, or an imported handoff's id)", handoffIDPattern, 128)
	handoffPath := strProp("The original's argument: a path whose file name (without .json) is the handoff id; same as handoff_id", 1024)
	resolution := strProp("What was found: recorded as a ground_truth insight (intensity 0.8) in the thread's domain", maxResolutionLen)
	return []Tool{{
		Name:  "record_open_thread",
		Title: "Record an open thread",
		Description: "Record an unresolved question for a later session. A question with numbered parts \"(1) … (2) …\", " +
			"each part but the last ending a sentence, is split into one thread per part (text before (1) goes to their context).",
		Schema: objectSchema(obj{
			"question": strProp("The open question", maxQuestionLen),
			"context":  textProp("What led to it", maxContextLen),
			"domain":   withDefault(domain, "general"),
		}, "question"),
		Effect: EffectAppend, Tier: TierEssential, Intent: "write",
		Handler: e.recordOpenThread,
	}, {
		Name:  "resolve_thread",
		Title: "Resolve an open thread",
		Description: "Resolve an open thread, by thread_id, or by domain and a question_fragment that exactly one unresolved " +
			"thread of the domain contains (case-blind). Marks it resolved and records the resolution as ground truth, together; " +
			"writes nothing when no thread or several match.",
		Schema: objectSchema(obj{
			"thread_id":         threadID,
			"domain":            domain,
			"question_fragment": strProp("Part of the thread's question (case-blind)", maxQuestionLen),
			"resolution":        resolution,
		}, "resolution"),
		Effect: EffectMutate, Tier: TierCore, Intent: "write",
		Handler: e.resolveThread,
	}, {
		Name:        "resolve_thread_by_id",
		Title:       "Resolve an open thread by id",
		Description: "Resolve the open thread with this id and record the resolution as ground truth (as resolve_thread with thread_id).",
		Schema:      objectSchema(obj{"thread_id": threadID, "resolution": resolution}, "thread_id", "resolution"),
		Effect:      EffectMutate, Tier: TierAdvanced, Intent: "write",
		Handler: e.resolveThreadByID,
	}, {
		Name:  "get_open_threads",
		Title: "List open threads",
		Description: "Unresolved threads, newest first, each with touch_count and last_touched_at; domain matches a domain or " +
			"one of its tags, domain_contains a part of it; paged by offset and limit.",
		Schema: objectSchema(obj{
			"domain":            domain,
			"domain_contains":   strProp("Only threads whose domain contains this text", 128),
			"limit":             intProp("How many threads", 1, maxThreadList, 10),
			"offset":            intProp("How many to skip", 0, 1_000_000, 0),
			"with_total":        boolProp("Also count all matching threads", false),
			"coalesce_families": boolProp("Accepted for compatibility with the original; thread families are not kept, so it has no effect", true),
		}),
		Effect: EffectRead, Tier: TierEssential, Intent: "read",
		Handler: e.getOpenThreads,
	}, {
		Name:        "thread_touch",
		Title:       "Touch an open thread",
		Description: "Note that you worked on an open thread without resolving it (counted by get_open_threads). A resolved thread cannot be touched.",
		Schema: objectSchema(obj{
			"thread_id":   threadID,
			"note":        strProp("What was done or found", maxTouchNoteLen),
			"instance_id": textProp("Who touched it (free text)", maxInstanceLen),
		}, "thread_id", "note"),
		Effect: EffectAppend, Tier: TierCore, Intent: "write",
		Handler: e.threadTouch,
	}, {
		Name:        "thread_get_touches",
		Title:       "A thread's touches",
		Description: "The touches of one thread (open or resolved), oldest first, with their count.",
		Schema: objectSchema(obj{
			"thread_id": threadID,
			"limit":     intProp("How many touches", 1, 500, 100),
			"offset":    intProp("How many to skip", 0, 1_000_000, 0),
		}, "thread_id"),
		Effect: EffectRead, Tier: TierAdvanced, Intent: "read",
		Handler: e.threadGetTouches,
	}, {
		Name:  "handoff",
		Title: "Leave a handoff",
		Description: "Leave a note (at most 2048 bytes of UTF-8) for the next session: written once, shown by " +
			"where_did_i_leave_off until a session consumes it.",
		Schema: objectSchema(obj{
			"note":            strProp("The note for the next session (at most 2048 bytes of UTF-8)", maxHandoffNoteBytes),
			"thread":          withDefault(strProp("The work thread (a tag)", 128), "general"),
			"source_instance": textProp("Who leaves it (free text)", maxInstanceLen),
		}, "note"),
		Effect: EffectAppend, Tier: TierEssential, Intent: "handoff",
		Handler: e.handoffTool,
	}, {
		Name:  "where_did_i_leave_off",
		Title: "Where did I leave off",
		Description: "A briefing from the engine's own records: waiting handoffs, open threads with their age, insights since " +
			"the last close_session (sentinels first), recent learnings. Reads only unless consume=true: then the handoffs " +
			"shown are consumed by this session (each handoff is consumed once, by one session).",
		Schema: objectSchema(obj{
			"thread":          strProp("Only handoffs of this thread", 128),
			"consume":         boolProp("Consume the handoffs shown (for this session; others no longer see them as waiting)", false),
			"source_instance": textProp("Who reads (recorded with a consumption)", maxInstanceLen),
			"domain_tags":     arrProp("Tags whose threads and insights to show first", strProp("A tag", 64), 16),
			"project":         strProp("A project tag, added to domain_tags", 64),
			"full_content":    boolProp("Do not shorten insights (120 characters) and questions (140)", false),
			"compact":         boolProp("At most 5 items per section and no empty sections", false),
		}),
		Effect: EffectMutate, Tier: TierEssential, Intent: "orient",
		Handler: e.whereDidILeaveOff,
	}, {
		Name:        "handoff_acted_on",
		Title:       "Record what was done with a handoff",
		Description: "Record who acted on a handoff and what they did (handoff_id, or the original's handoff_path).",
		Schema: objectSchema(obj{
			"handoff_id":    handoffID,
			"handoff_path":  handoffPath,
			"consumed_by":   strProp("Who acted on it", maxInstanceLen),
			"what_was_done": strProp("What was done", maxWhatWasDoneLen),
		}, "consumed_by", "what_was_done"),
		Effect: EffectAppend, Tier: TierCore, Intent: "handoff",
		Handler: e.handoffActedOn,
	}, {
		Name:        "handoff_acted_on_records",
		Title:       "What was done with handoffs",
		Description: "The acted-on records of one handoff, or of all, newest first.",
		Schema: objectSchema(obj{
			"handoff_id":   handoffID,
			"handoff_path": handoffPath,
			"limit":        intProp("How many records", 1, maxActedOnList, 50),
			"offset":       intProp("How many to skip", 0, 1_000_000, 0),
		}),
		Effect: EffectRead, Tier: TierAdvanced, Intent: "handoff",
		Handler: e.handoffActedOnRecords,
	}}
}

// withDefault returns a copy of schema fragment p with a default value.
func withDefault(p obj, def any) obj {
	q := obj{}
	for k, v := range p {
		q[k] = v
	}
	q["default"] = def
	return q
}

// threadsSchema is migration 3: open threads, their touches, handoffs,
// their consumption (at most one per handoff) and acted-on records.
const threadsSchema = `
CREATE TABLE open_threads (
	id          TEXT PRIMARY KEY,            -- thread_<YYYYMMDD_HHMMSS>_<8 hex>
	ts          TEXT NOT NULL,               -- tsLayout, UTC
	question    TEXT NOT NULL,
	context     TEXT NOT NULL DEFAULT '',
	domain      TEXT NOT NULL,
	session_id  TEXT NOT NULL DEFAULT '',
	principal   TEXT NOT NULL DEFAULT '',
	resolved_at TEXT,                        -- NULL while open
	resolved_by TEXT NOT NULL DEFAULT '',        -- the resolving session
	resolved_principal TEXT NOT NULL DEFAULT '',
	resolution  TEXT NOT NULL DEFAULT '',
	resolution_insight TEXT NOT NULL DEFAULT '' -- id of the ground_truth insight
);
CREATE INDEX open_threads_open ON open_threads(resolved_at, ts);
CREATE INDEX open_threads_domain ON open_threads(domain, ts);
CREATE TABLE thread_touches (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	thread_id   TEXT NOT NULL REFERENCES open_threads(id),
	ts          TEXT NOT NULL,
	note        TEXT NOT NULL,
	instance_id TEXT NOT NULL DEFAULT '',
	session_id  TEXT NOT NULL DEFAULT '',
	principal   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX thread_touches_thread ON thread_touches(thread_id, ts);
CREATE TABLE handoffs (
	id              TEXT PRIMARY KEY,        -- ho_<YYYYMMDDTHHMMSS>_<8 hex>
	ts              TEXT NOT NULL,
	thread          TEXT NOT NULL,
	note            TEXT NOT NULL,
	source_instance TEXT NOT NULL DEFAULT '',
	source_session  TEXT NOT NULL DEFAULT '',
	principal       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX handoffs_ts ON handoffs(ts);
CREATE INDEX handoffs_thread_ts ON handoffs(thread, ts);
CREATE TABLE handoff_consumptions (
	handoff_id  TEXT PRIMARY KEY REFERENCES handoffs(id), -- consume-once
	ts          TEXT NOT NULL,
	session_id  TEXT NOT NULL,
	instance    TEXT NOT NULL DEFAULT '',
	principal   TEXT NOT NULL DEFAULT ''
);
CREATE TABLE handoff_acted_on (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	handoff_id    TEXT NOT NULL REFERENCES handoffs(id),
	ts            TEXT NOT NULL,
	consumed_by   TEXT NOT NULL,
	what_was_done TEXT NOT NULL,
	session_id    TEXT NOT NULL DEFAULT '',
	principal     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX handoff_acted_on_handoff ON handoff_acted_on(handoff_id, ts);
`
