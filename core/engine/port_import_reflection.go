package engine

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// recordIDRe is the id of an uncertainty marker or experiment (the
// original's uncertainty_3 and exp_2 included).
var recordIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// consciousness imports consciousness/*.json: uncertainty markers,
// experiments, reflections and session reviews. The original wrote these
// files with utcnow(): their naive timestamps are UTC.
func (im *importer) consciousness() error {
	entries, err := fs.ReadDir(im.fsys, origConsciousness)
	if err != nil {
		im.rep.notImported(origConsciousness+"/", "cannot be read: "+errText(err))
		return nil
	}
	for _, d := range entries {
		if err := im.ctx.Err(); err != nil {
			return err
		}
		name := origConsciousness + "/" + d.Name()
		var lists []consciousnessList
		switch d.Name() {
		case "uncertainty_log.json":
			lists = []consciousnessList{{"markers", KindUncertainty, im.uncertaintyItem}}
		case "experimentation_log.json":
			lists = []consciousnessList{{"experiments", KindExperiment, im.experimentItem}}
		case "consciousness_journal.json":
			lists = []consciousnessList{{"reflections", KindReflection, im.reflectionItem}, {"reviews", KindReview, im.reviewItem}}
			im.rep.notImported(name+"#patterns", "counts derived from the reflections; get_growth_summary computes them")
		case "collaborative_memory.json":
			im.rep.notImported(name, "record_collaborative_insight and record_breakthrough are not ported: no engine equivalent")
			continue
		default:
			im.rep.notImported(entryName(name, d), "not part of the original's layout that the engine imports")
			continue
		}
		if err := im.consciousnessFile(name, lists); err != nil {
			return err
		}
	}
	return nil
}

// consciousnessList is one list of a consciousness file and its importer.
type consciousnessList struct {
	key  string
	kind string
	item func(tx *sql.Tx, fc *fileCounts, where string, index int, rec fields) error
}

// consciousnessFile imports the lists of one whole-JSON file, in one
// transaction. A skipped item is reported as file#list[index].
func (im *importer) consciousnessFile(name string, lists []consciousnessList) error {
	b, err := im.readSmall(name, importMaxBlob)
	if err != nil {
		im.skipFile(lists[0].kind, name, "cannot be read: "+err.Error())
		return nil
	}
	doc, err := decodeObject(b)
	if err != nil {
		im.skipFile(lists[0].kind, name, err.Error())
		return nil
	}
	return im.inFile(name, func(tx *sql.Tx, fc *fileCounts) error {
		for _, l := range lists {
			raw, ok := doc[l.key]
			if !ok || raw == nil {
				continue
			}
			items, ok := raw.([]any)
			if !ok {
				fc.skip(l.kind, name, 0, l.key+" is not a list")
				continue
			}
			for i, it := range items {
				if err := im.ctx.Err(); err != nil {
					return err
				}
				fc.of(l.kind).Read++
				where := fmt.Sprintf("%s#%s[%d]", name, l.key, i)
				m, ok := it.(map[string]any)
				if !ok {
					fc.skip(l.kind, where, 0, "not a JSON object")
					continue
				}
				if err := l.item(tx, fc, where, i, fields(m)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// reflectText checks a prose field of the reflection tools.
func reflectText(name, v string, required bool) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return fmt.Errorf("%s is blank", name)
	case utf8.RuneCountInString(v) > maxReflectText || !utf8.ValidString(v):
		return fmt.Errorf("%s is longer than %d characters or not valid UTF-8", name, maxReflectText)
	}
	return nil
}

// reflectList checks a list field of the reflection tools.
func reflectList(name string, items []string) error {
	if len(items) > maxReflectItems {
		return fmt.Errorf("%s has more than %d items", name, maxReflectItems)
	}
	for _, it := range items {
		if utf8.RuneCountInString(it) > maxReflectItem || !utf8.ValidString(it) {
			return fmt.Errorf("an item of %s is longer than %d characters or not valid UTF-8", name, maxReflectItem)
		}
	}
	return nil
}

// utcTS converts a consciousness timestamp (naive is UTC).
func utcTS(raw string) (string, error) { return originalTS(raw, time.UTC) }

func (im *importer) uncertaintyItem(tx *sql.Tx, fc *fileCounts, where string, index int, rec fields) error {
	skip := skipper(fc, KindUncertainty, where, 0)
	var u uncertainty
	var raw, resolvedAt string
	var err error
	for key, dst := range map[string]*string{"id": &u.ID, "what_im_uncertain_about": &u.What, "why_im_uncertain": &u.Why,
		"resolution": &u.Resolution, "session_id": &u.SessionID, "timestamp": &raw, "resolved_at": &resolvedAt} {
		if *dst, err = rec.str(key); err != nil {
			return skip("%v", err)
		}
	}
	if u.ID == "" {
		u.ID = fmt.Sprintf("uncertainty_%d", index) // the original's counter
	}
	if u.Confidence, err = rec.num("confidence_level", -1); err != nil {
		return skip("%v", err)
	}
	if u.WhatWouldHelp, err = rec.strList("what_would_help"); err != nil {
		return skip("%v", err)
	}
	if u.Timestamp, err = utcTS(raw); err != nil {
		return skip("%v", err)
	}
	if u.Resolution != "" {
		u.ResolvedAt = u.Timestamp
		if resolvedAt != "" {
			if u.ResolvedAt, err = utcTS(resolvedAt); err != nil {
				return skip("resolved_at: %v", err)
			}
		}
		together, err := rec.boolean("did_we_discover_together", false)
		if err != nil {
			return skip("%v", err)
		}
		u.DiscoveredTogether = &together
	}
	return im.storeUncertainty(tx, fc, where, 0, u, im.opts.Principal)
}

// storeUncertainty validates a marker as mark_uncertainty would and stores
// it with its id.
func (im *importer) storeUncertainty(tx *sql.Tx, fc *fileCounts, file string, line int, u uncertainty, principal string) error {
	skip := skipper(fc, KindUncertainty, file, line)
	if !recordIDRe.MatchString(u.ID) {
		return skip("id %q is not up to 128 of A-Z, a-z, 0-9, '_', '.', '-'", u.ID)
	}
	if u.Confidence < 0 || u.Confidence > 1 {
		return skip("confidence_level is missing or not within 0..1")
	}
	for _, err := range []error{reflectText("what", u.What, true), reflectText("why", u.Why, true),
		reflectText("resolution", u.Resolution, false), reflectList("what_would_help", u.WhatWouldHelp)} {
		if err != nil {
			return skip("%v", err)
		}
	}
	if checkTS(u.Timestamp) != nil || (u.ResolvedAt != "" && checkTS(u.ResolvedAt) != nil) {
		return skip("timestamp %q or resolved_at %q is not in the stored form", u.Timestamp, u.ResolvedAt)
	}
	inserted, err := insertUncertaintyRow(im.ctx, tx, u, principal)
	if err != nil {
		return err
	}
	fc.outcome(KindUncertainty, inserted)
	return nil
}

func (im *importer) experimentItem(tx *sql.Tx, fc *fileCounts, where string, index int, rec fields) error {
	skip := skipper(fc, KindExperiment, where, 0)
	var x experiment
	var raw, completedAt string
	var err error
	for key, dst := range map[string]*string{"id": &x.ID, "what_i_want_to_try": &x.What, "why_i_think_its_interesting": &x.Why,
		"what_i_hope_to_learn": &x.HopeToLearn, "status": &x.Status, "results": &x.Results, "session_id": &x.SessionID,
		"timestamp": &raw, "completed_at": &completedAt} {
		if *dst, err = rec.str(key); err != nil {
			return skip("%v", err)
		}
	}
	if x.ID == "" {
		x.ID = fmt.Sprintf("exp_%d", index) // the original's counter
	}
	if x.Risks, err = rec.strList("potential_risks"); err != nil {
		return skip("%v", err)
	}
	if x.Mitigations, err = rec.strList("how_to_mitigate"); err != nil {
		return skip("%v", err)
	}
	switch x.Status {
	case "", "proposed", "approved":
		x.Status = "proposed" // the engine has no approval step
	case "completed":
	default:
		return skip("status %q: the engine keeps proposed and completed experiments only", x.Status)
	}
	if x.Timestamp, err = utcTS(raw); err != nil {
		return skip("%v", err)
	}
	if x.Status == "completed" {
		x.CompletedAt = x.Timestamp
		if completedAt != "" {
			if x.CompletedAt, err = utcTS(completedAt); err != nil {
				return skip("completed_at: %v", err)
			}
		}
	}
	return im.storeExperiment(tx, fc, where, 0, x, im.opts.Principal)
}

// storeExperiment validates an experiment as propose_experiment would and
// stores it with its id.
func (im *importer) storeExperiment(tx *sql.Tx, fc *fileCounts, file string, line int, x experiment, principal string) error {
	skip := skipper(fc, KindExperiment, file, line)
	if !recordIDRe.MatchString(x.ID) {
		return skip("id %q is not up to 128 of A-Z, a-z, 0-9, '_', '.', '-'", x.ID)
	}
	if x.Status != "proposed" && x.Status != "completed" {
		return skip("status %q is not proposed or completed", x.Status)
	}
	for _, err := range []error{reflectText("what", x.What, true), reflectText("why", x.Why, true),
		reflectText("hope_to_learn", x.HopeToLearn, true), reflectText("results", x.Results, false),
		reflectList("risks", x.Risks), reflectList("mitigations", x.Mitigations)} {
		if err != nil {
			return skip("%v", err)
		}
	}
	if checkTS(x.Timestamp) != nil || (x.CompletedAt != "" && checkTS(x.CompletedAt) != nil) {
		return skip("timestamp %q or completed_at %q is not in the stored form", x.Timestamp, x.CompletedAt)
	}
	inserted, err := insertExperimentRow(im.ctx, tx, x, principal)
	if err != nil {
		return err
	}
	fc.outcome(KindExperiment, inserted)
	return nil
}

// derivedID is prefix + 16 hex of the sha256 of parts: the id of a record
// the original kept without one, the same on every import.
func derivedID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0x1f})
	}
	return prefix + hex.EncodeToString(h.Sum(nil))[:16]
}

func (im *importer) reflectionItem(tx *sql.Tx, fc *fileCounts, where string, _ int, rec fields) error {
	skip := skipper(fc, KindReflection, where, 0)
	var r agentReflection
	var raw string
	var err error
	for key, dst := range map[string]*string{"observation": &r.Observation, "pattern_type": &r.PatternType,
		"session_id": &r.SessionID, "timestamp": &raw} {
		if *dst, err = rec.str(key); err != nil {
			return skip("%v", err)
		}
	}
	if r.Confidence, err = rec.num("confidence", 0.7); err != nil {
		return skip("%v", err)
	}
	if r.Timestamp, err = utcTS(raw); err != nil {
		return skip("%v", err)
	}
	r.ID = derivedID("ref_", raw, r.SessionID, r.Observation)
	r.Principal = im.opts.Principal
	return im.storeReflection(tx, fc, where, 0, r)
}

// storeReflection validates a reflection as agent_reflect would and stores
// it with its id.
func (im *importer) storeReflection(tx *sql.Tx, fc *fileCounts, file string, line int, r agentReflection) error {
	skip := skipper(fc, KindReflection, file, line)
	switch {
	case !recordIDRe.MatchString(r.ID):
		return skip("id %q is not up to 128 of A-Z, a-z, 0-9, '_', '.', '-'", r.ID)
	case !slices.Contains(patternTypes, r.PatternType):
		return skip("pattern_type %q is not one of %s", r.PatternType, strings.Join(patternTypes, ", "))
	case r.Confidence < 0 || r.Confidence > 1:
		return skip("confidence %v is not within 0..1", r.Confidence)
	case checkTS(r.Timestamp) != nil:
		return skip("timestamp %q is not in the stored form", r.Timestamp)
	}
	if err := reflectText("observation", r.Observation, true); err != nil {
		return skip("%v", err)
	}
	inserted, err := insertReflectionRow(im.ctx, tx, r)
	if err != nil {
		return err
	}
	fc.outcome(KindReflection, inserted)
	return nil
}

func (im *importer) reviewItem(tx *sql.Tx, fc *fileCounts, where string, _ int, rec fields) error {
	skip := skipper(fc, KindReview, where, 0)
	var v sessionReview
	var raw string
	var err error
	if raw, err = rec.str("timestamp"); err != nil {
		return skip("%v", err)
	}
	if v.SessionID, err = rec.str("session_id"); err != nil {
		return skip("%v", err)
	}
	for key, dst := range map[string]*[]string{"what_went_well": &v.WhatWentWell, "what_i_struggled_with": &v.WhatIStruggledWith,
		"what_i_learned": &v.WhatILearned, "breakthroughs": &v.Breakthroughs} {
		if *dst, err = rec.strList(key); err != nil {
			return skip("%v", err)
		}
	}
	if v.DidWeDiscoverTogether, err = rec.boolean("did_we_discover_together", false); err != nil {
		return skip("%v", err)
	}
	if v.Timestamp, err = utcTS(raw); err != nil {
		return skip("%v", err)
	}
	lists, _ := json.Marshal([][]string{v.WhatWentWell, v.WhatIStruggledWith, v.WhatILearned, v.Breakthroughs})
	v.ID = derivedID("rev_", raw, v.SessionID, string(lists))
	v.Principal = im.opts.Principal
	return im.storeReview(tx, fc, where, 0, v)
}

// storeReview validates a session review as end_session_review would and
// stores it with its id.
func (im *importer) storeReview(tx *sql.Tx, fc *fileCounts, file string, line int, v sessionReview) error {
	skip := skipper(fc, KindReview, file, line)
	if !recordIDRe.MatchString(v.ID) {
		return skip("id %q is not up to 128 of A-Z, a-z, 0-9, '_', '.', '-'", v.ID)
	}
	for _, err := range []error{reflectList("what_went_well", v.WhatWentWell), reflectList("what_i_struggled_with", v.WhatIStruggledWith),
		reflectList("what_i_learned", v.WhatILearned), reflectList("breakthroughs", v.Breakthroughs)} {
		if err != nil {
			return skip("%v", err)
		}
	}
	if checkTS(v.Timestamp) != nil {
		return skip("timestamp %q is not in the stored form", v.Timestamp)
	}
	inserted, err := insertReviewRow(im.ctx, tx, v)
	if err != nil {
		return err
	}
	fc.outcome(KindReview, inserted)
	return nil
}
