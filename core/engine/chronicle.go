package engine

// The chronicle: insights (three layers, receipts, supersession), learnings
// and the content-addressed archive of verbatim exchanges.
//
// Files: chronicle.go (tool declarations, migration 2), chronicle_record.go
// (record_insight: receipts, supersession guards), chronicle_recall.go
// (recall_insights, get_inheritable_context), chronicle_query.go (full-text
// queries, dates, prefixes), chronicle_learning.go (record_learning,
// check_mistakes), chronicle_archive.go (archive_exchange, recall_exchange,
// list_exchanges), chronicle_port.go (the functions below).
//
// Import and export (for `sovereign import` / `sovereign export`). Every
// insert takes an explicit timestamp (tsLayout; convert the original's
// ISO text with parseTimestamp) and session, runs in the caller's write
// transaction (inTx) and validates what it stores; a record that is
// already stored (same id) is left alone and reported as not inserted, so
// an import can be run twice:
//
//	(e *Engine) insertInsightRecord(ctx context.Context, tx *sql.Tx, rec *insightRecord) (inserted bool, err error)
//	    rec.ID empty: set to the claim id of (Timestamp, Domain, Content); a given
//	    id must be 64 lowercase hex (keep the original's claim id, which
//	    was computed from its own timestamp text). Domain is normalised;
//	    Receipts must be a JSON array (stored as given: the original's
//	    stamps are history); Principal is stored, never shown by tools.
//	    It is the only way insights may be written: it gives each a rowid
//	    in time order (rowSlots), which recall's ordering relies on.
//	(e *Engine) insertLearningRecord(ctx context.Context, tx *sql.Tx, rec learningRecord) (id int64, err error)
//	(e *Engine) insertArchiveRecord(ctx context.Context, tx *sql.Tx, content []byte, ent archiveEntry) (archiveRecord, error)
//	    the archive id is always sha256(content); ent.ArchiveID, when set,
//	    must equal it (a mismatch is CategoryConflict: the original's
//	    blob no longer matches its index). Identical metadata is stored once.
//	(e *Engine) insertSupersessionRecord(ctx context.Context, tx *sql.Tx, s supersessionRecord) error
//	    both insights must exist; refuses self, a second successor and
//	    cycles exactly as record_insight does.
//	parseTimestamp(s string) (t time.Time, dateOnly bool, err error)
//	    ISO 8601 date or timestamp (RFC 3339, or without a zone: UTC);
//	    store formatTS(t).
//
// Export iterates each table in time order (then insertion order), inside
// one read transaction, calling fn per record; fn's error stops the walk and
// is returned:
//
//	(e *Engine) eachInsight(ctx context.Context, fn func(insightRecord) error) error
//	(e *Engine) eachLearning(ctx context.Context, fn func(learningRecord) error) error
//	(e *Engine) eachArchiveBlob(ctx context.Context, fn func(id string, content []byte) error) error
//	(e *Engine) eachArchiveEntry(ctx context.Context, fn func(archiveEntry) error) error
//	(e *Engine) eachSupersession(ctx context.Context, fn func(supersessionRecord) error) error

// Bounds of the chronicle tools' arguments.
const (
	maxContent       = 64 << 10 // an insight, a learning's fields
	maxArchiveBytes  = 1 << 20  // one archived exchange
	maxDomainArg     = 1200     // 16 tags of 64 plus separators and spaces
	maxReceipts      = 32
	maxSupersedes    = 16
	maxCarryForward  = 500
	maxRecallLimit   = 200
	maxRecallOffset  = 100000
	inheritPerLayer  = 20
	mistakesReturned = 5
)

// hexRefPattern is an id or a unique prefix of at least 8 hex digits.
const hexRefPattern = `^[0-9a-fA-F]{8,64}$`

// chronicleTools declares the chronicle's tools.
func (e *Engine) chronicleTools() []Tool {
	receipt := obj{
		"type": "object", "additionalProperties": false, "required": []string{"kind", "ref"},
		"description": "Evidence for the insight, checked when it is written; a receipt that does not check out rejects the whole call",
		"properties": obj{
			"kind": enumProp("archive: an archive_exchange id or prefix, re-hashed now (verified); claim: an insight id or prefix (cites); "+
				"cmd, url, human: recorded as attested, not checked. file is refused: it let any caller test host files.", "",
				"archive", "claim", "cmd", "url", "human", "file"),
			"ref":    strProp("What the receipt points at (an id or prefix for archive and claim)", 2048),
			"sha256": patternProp("Expected sha256 (hex) of what ref points at", `^[0-9a-fA-F]{64}$`, 64),
			"note":   textProp("Free note", 1000),
		},
	}
	ref := patternProp("An id or a unique prefix of at least 8 hex digits", hexRefPattern, 64)
	intensity := numProp("How strongly the insight holds, 0..1", 0, 1)
	intensity["default"] = 0.5
	return []Tool{
		{
			Name:  "record_insight",
			Title: "Record an insight",
			Description: "Record an insight in the chronicle in a layer: ground_truth (established), hypothesis (default) or open_thread. " +
				"confidence is for hypotheses only (refused on other layers). Receipts (verified_by) are checked now and fail closed. " +
				"supersedes names earlier insights (ids or unique prefixes) this one replaces, with a carry_forward_summary; " +
				"self, double and cyclic supersession are refused. The same insight recorded again by the session within 120 s is not stored twice.",
			Schema: objectSchema(obj{
				"domain":                strProp("Comma-separated tags, e.g. \"go,testing\" (a-z, 0-9, '.', '_', '-')", maxDomainArg),
				"content":               strProp("The insight", maxContent),
				"intensity":             intensity,
				"layer":                 enumProp("Chronicle layer", LayerHypothesis, LayerGroundTruth, LayerHypothesis, LayerOpenThread),
				"confidence":            numProp("Confidence 0..1 (hypothesis layer only)", 0, 1),
				"vantage":               textProp("Where the insight was seen from (instance, role)", 256),
				"verified_by":           arrProp("Receipts", receipt, maxReceipts),
				"supersedes":            arrProp("Insights this one replaces", ref, maxSupersedes),
				"carry_forward_summary": strProp("What carries forward from the superseded insights (required with supersedes)", maxCarryForward),
				"observed_emotion":      arrProp("Emotions observed", strProp("An emotion", 64), 16),
				"emotional_intensity":   numProp("Intensity of the observed emotion, 0..1", 0, 1),
				"emotion_source":        enumProp("Who named the emotion", "", "anthony_declared", "witness_interpreted", "anthony_corrected"),
				"emotion_note":          textProp("A note on the emotion", 1000),
			}, "domain", "content"),
			Effect: EffectAppend, Tier: TierEssential, Intent: "write",
			Handler: e.recordInsight,
		},
		{
			Name:        "record_learning",
			Title:       "Record a learning",
			Description: "Record a mistake and what it taught, for check_mistakes to surface later. applies_to is tags like a domain (default general).",
			Schema: objectSchema(obj{
				"what_happened": strProp("What happened", maxContent),
				"what_learned":  strProp("What was learned", maxContent),
				"applies_to":    strProp("Comma-separated tags the learning applies to (default general)", maxDomainArg),
			}, "what_happened", "what_learned"),
			Effect: EffectAppend, Tier: TierCore, Intent: "write",
			Handler: e.recordLearning,
		},
		{
			Name:  "recall_insights",
			Title: "Recall insights",
			Description: "Search the chronicle: full-text query (words, never query syntax), domain (an exact domain or one tag; an unknown domain returns nothing), " +
				"domain_contains, start_date/end_date (ISO dates or timestamps; a date-only end is inclusive), since_last_reflection, " +
				"order newest|oldest|relevance (relevance ranks by BM25 and needs a query), limit and offset for paging. " +
				"Superseded insights carry _superseded_by and _carry_forward_summary, or are dropped with exclude_superseded.",
			Schema: objectSchema(obj{
				"query":                 textProp("Words to look for (any of them; longer words also match as prefixes)", 1000),
				"domain":                strProp("An exact domain or one tag", maxDomainArg),
				"domain_contains":       strProp("A substring of the domain", 64),
				"start_date":            strProp("From this ISO date or timestamp", 40),
				"end_date":              strProp("Up to this ISO date (inclusive) or timestamp", 40),
				"since_last_reflection": boolProp("Only insights after the newest insight tagged reflection", false),
				"with_ids":              boolProp("Show the ids in the text too (the data always has them)", false),
				"exclude_superseded":    boolProp("Drop superseded insights", false),
				"order":                 enumProp("Order of the results", "newest", "newest", "oldest", "relevance"),
				"limit":                 intProp("At most this many", 1, maxRecallLimit, 10),
				"offset":                intProp("Skip this many (paging)", 0, maxRecallOffset, 0),
			}),
			Effect: EffectRead, Tier: TierEssential, Intent: "read",
			Handler: e.recallInsights,
		},
		{
			Name:  "check_mistakes",
			Title: "Check learnings for a context",
			Description: "Before acting: the 5 recorded learnings that best match the context's words (applies_to, what happened, what was learned), " +
				"ranked by relevance then newest. A context with no words returns the newest 5.",
			Schema: objectSchema(obj{
				"context": strProp("What you are about to do", 4096),
			}, "context"),
			Effect: EffectRead, Tier: TierEssential, Intent: "orient",
			Handler: e.checkMistakes,
		},
		{
			Name:  "get_inheritable_context",
			Title: "Inheritable context",
			Description: "What earlier sessions leave: the newest 20 ground truths, 20 hypotheses and 20 open-thread insights, " +
				"superseded ones held back (counted).",
			Schema: objectSchema(obj{}),
			Effect: EffectRead, Tier: TierEssential, Intent: "orient",
			Handler: e.inheritableContext,
		},
		{
			Name:  "archive_exchange",
			Title: "Archive an exchange verbatim",
			Description: "Store up to 1 MiB verbatim, content-addressed: the archive id is the sha256 of the bytes. Archiving the same bytes again " +
				"returns the existing record; different metadata (source, vector, conversation, tags…) is recorded as another entry for the same bytes.",
			Schema: objectSchema(obj{
				"content":         strProp("The exchange, verbatim", maxArchiveBytes),
				"source":          strProp("Where it comes from (a model, a person, a tool)", 128),
				"descriptor":      textProp("A short description", 256),
				"vector_id":       textProp("The line of work it belongs to", 128),
				"conversation_id": textProp("The conversation", 256),
				"source_id":       textProp("The source's own id for it", 256),
				"tags":            arrProp("Tags", strProp("A tag", 64), 32),
			}, "content", "source"),
			Effect: EffectAppend, Idempotent: true, Tier: TierCore, Intent: "write",
			Handler: e.archiveExchange,
		},
		{
			Name:  "recall_exchange",
			Title: "Recall an archived exchange",
			Description: "Return an archived exchange by id or unique prefix (at least 8 hex digits). The stored bytes are re-hashed on every read; " +
				"content that no longer matches its id is not served (a conflict error).",
			Schema: objectSchema(obj{
				"archive_id": patternProp("The archive id or a unique prefix of it", hexRefPattern, 64),
			}, "archive_id"),
			Effect: EffectRead, Tier: TierCore, Intent: "read",
			Handler: e.recallExchange,
		},
		{
			Name:        "list_exchanges",
			Title:       "List archived exchanges",
			Description: "List archive entries newest first, without their content, filtered by vector_id, source, tag or conversation_id.",
			Schema: objectSchema(obj{
				"vector_id":       strProp("Only this vector", 128),
				"source":          strProp("Only this source", 128),
				"tag":             strProp("Only entries with this tag", 64),
				"conversation_id": strProp("Only this conversation", 256),
				"limit":           intProp("At most this many", 1, maxRecallLimit, 20),
				"offset":          intProp("Skip this many (paging)", 0, maxRecallOffset, 0),
			}),
			Effect: EffectRead, Tier: TierAdvanced, Intent: "read",
			Handler: e.listExchanges,
		},
	}
}

// chronicleSchema is migration 2: the tag index of insights, the
// supersession ledger, learnings and the archive.
//
// insight_tags holds one row per tag of an insight's domain (kept in step
// by triggers; a domain that is not plain tags makes the insert fail), so
// that a domain filter is an index lookup. supersessions has one row per
// superseded insight: its primary key is what refuses a second successor.
const chronicleSchema = `
CREATE TABLE insight_tags (
	tag           TEXT NOT NULL,
	ts            TEXT NOT NULL,
	insight_rowid INTEGER NOT NULL,
	PRIMARY KEY (tag, ts, insight_rowid)
) WITHOUT ROWID;
CREATE INDEX insight_tags_rowid ON insight_tags(insight_rowid);
INSERT INTO insight_tags(tag, ts, insight_rowid)
	SELECT DISTINCT j.value, i.ts, i.rowid FROM insights i, json_each('["' || replace(i.domain, ',', '","') || '"]') j;
CREATE TRIGGER insight_tags_ai AFTER INSERT ON insights BEGIN
	INSERT INTO insight_tags(tag, ts, insight_rowid)
		SELECT DISTINCT value, new.ts, new.rowid FROM json_each('["' || replace(new.domain, ',', '","') || '"]');
END;
CREATE TRIGGER insight_tags_ad AFTER DELETE ON insights BEGIN
	DELETE FROM insight_tags WHERE insight_rowid = old.rowid;
END;
CREATE TRIGGER insight_tags_au AFTER UPDATE OF domain, ts ON insights BEGIN
	DELETE FROM insight_tags WHERE insight_rowid = old.rowid;
	INSERT INTO insight_tags(tag, ts, insight_rowid)
		SELECT DISTINCT value, new.ts, new.rowid FROM json_each('["' || replace(new.domain, ',', '","') || '"]');
END;

CREATE TABLE supersessions (
	predecessor TEXT PRIMARY KEY REFERENCES insights(id),
	successor   TEXT NOT NULL REFERENCES insights(id),
	ts          TEXT NOT NULL,
	summary     TEXT NOT NULL,
	session_id  TEXT NOT NULL DEFAULT '',
	principal   TEXT NOT NULL DEFAULT '',
	CHECK (predecessor <> successor)
);
CREATE INDEX supersessions_successor ON supersessions(successor);

CREATE TABLE learnings (
	id            INTEGER PRIMARY KEY,
	ts            TEXT NOT NULL,
	what_happened TEXT NOT NULL,
	what_learned  TEXT NOT NULL,
	applies_to    TEXT NOT NULL,
	session_id    TEXT NOT NULL DEFAULT '',
	principal     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX learnings_ts ON learnings(ts);
CREATE VIRTUAL TABLE learnings_fts USING fts5(
	applies_to, what_happened, what_learned, content='learnings', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER learnings_ai AFTER INSERT ON learnings BEGIN
	INSERT INTO learnings_fts(rowid, applies_to, what_happened, what_learned)
		VALUES (new.id, new.applies_to, new.what_happened, new.what_learned);
END;
CREATE TRIGGER learnings_ad AFTER DELETE ON learnings BEGIN
	INSERT INTO learnings_fts(learnings_fts, rowid, applies_to, what_happened, what_learned)
		VALUES ('delete', old.id, old.applies_to, old.what_happened, old.what_learned);
END;
CREATE TRIGGER learnings_au AFTER UPDATE ON learnings BEGIN
	INSERT INTO learnings_fts(learnings_fts, rowid, applies_to, what_happened, what_learned)
		VALUES ('delete', old.id, old.applies_to, old.what_happened, old.what_learned);
	INSERT INTO learnings_fts(rowid, applies_to, what_happened, what_learned)
		VALUES (new.id, new.applies_to, new.what_happened, new.what_learned);
END;

CREATE TABLE archive_blobs (
	archive_id TEXT PRIMARY KEY,   -- sha256 hex of content when archived
	content    BLOB NOT NULL,
	byte_len   INTEGER NOT NULL,
	ts         TEXT NOT NULL       -- first archived
);
CREATE TABLE archive_entries (
	seq             INTEGER PRIMARY KEY,
	archive_id      TEXT NOT NULL REFERENCES archive_blobs(archive_id),
	ts              TEXT NOT NULL,
	source          TEXT NOT NULL,
	descriptor      TEXT NOT NULL DEFAULT '',
	vector_id       TEXT NOT NULL DEFAULT '',
	conversation_id TEXT NOT NULL DEFAULT '',
	source_id       TEXT NOT NULL DEFAULT '',
	tags            TEXT NOT NULL DEFAULT '[]', -- JSON array, sorted, lowercase
	session_id      TEXT NOT NULL DEFAULT '',
	principal       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX archive_entries_ts ON archive_entries(ts);
CREATE INDEX archive_entries_archive ON archive_entries(archive_id, ts);
CREATE INDEX archive_entries_vector ON archive_entries(vector_id, ts);
CREATE INDEX archive_entries_source ON archive_entries(source, ts);
CREATE INDEX archive_entries_conversation ON archive_entries(conversation_id, ts);
`
