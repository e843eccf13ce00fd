package engine

// migrations is the engine's schema, in order. Each tool group owns the
// migrations of its tables; a released migration is never edited.
var migrations = []migration{
	{1, "insights", insightsSchema},
	{2, "chronicle: supersessions, learnings, archive", chronicleSchema},
	{3, "threads and handoffs", threadsSchema},
	{4, "spiral and reflection", spiralSchema + reflectionSchema},
	{5, "governance: threshold scans", scanSchema},
}

// toolGroups returns every tool of the engine, by group. A group function
// may also add resources, prompts and call observers to e.
func (e *Engine) toolGroups() [][]Tool {
	return [][]Tool{
		e.toolkitTools(),
		e.chronicleTools(),
		e.threadsTools(),
		e.spiralTools(),
		e.governanceTools(),
	}
}
