package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// simStatsTimeout bounds a read of /_sim/stats, which is made even after ctx is cancelled so that an
// interrupted run still reports.
const simStatsTimeout = 10 * time.Second

// loadgen runs the phases of a scenario against one target.
type loadgen struct {
	o       options
	client  *http.Client
	answers *answerLog
	target  target
	users   []*genUser
	groups  []*genGroup
	pickRNG *rand.Rand
	tag     string    // distinguishes the values this run PATCHes from earlier runs'
	start   time.Time // of the run
	// deadline is when the measured phases stop starting requests (zero: no cap); set when the first
	// measured phase begins.
	deadline time.Time
}

// newLoadgen builds the client, the target and the generated objects of o.
func newLoadgen(o options) *loadgen {
	start := time.Now()
	g := &loadgen{
		o:       o,
		client:  newHTTPClient(o.concurrency, o.timeout),
		answers: newAnswerLog(),
		pickRNG: rand.New(rand.NewPCG(uint64(o.seed), 1)),
		tag:     "r" + strconv.FormatInt(start.UnixMilli(), 36),
		start:   start,
	}
	genRNG := newGenRNG(o.seed)
	g.users = generateUsers(o.users, o.prefix, o.domain, genRNG)
	g.groups = generateGroups(o.groups, o.membersPerGroup, o.users, o.prefix)
	if o.direct {
		c := &caller{client: g.client, token: o.token, contentType: portalContentType, answers: g.answers, now: time.Now}
		g.target = &portalTarget{c: c, baseURL: o.baseURL}
	} else {
		c := &caller{client: g.client, token: o.token, contentType: scimContentType, answers: g.answers, now: time.Now}
		g.target = &scimTarget{c: c, baseURL: o.baseURL, dialect: o.dialect}
	}
	return g
}

// run runs the scenario and returns its report. It fails only when portal-sim's stats cannot be read.
func (g *loadgen) run(ctx context.Context) (*Report, error) {
	mode := "scim"
	if g.o.direct {
		mode = "direct"
	}
	rep := &Report{
		Mode:            mode,
		Scenario:        g.o.scenario,
		BaseURL:         g.o.baseURL,
		Dialect:         g.o.dialect,
		Concurrency:     g.o.concurrency,
		Rate:            g.o.rate,
		DurationSeconds: g.o.duration.Seconds(),
		Users:           g.o.users,
		Groups:          g.o.groups,
		MembersPerGroup: g.o.membersPerGroup,
		Prefix:          g.o.prefix,
		Seed:            g.o.seed,
		Started:         g.start.UTC(),
	}
	var phases []func(context.Context) (PhaseReport, error)
	switch g.o.scenario {
	case scenarioInitial:
		phases = append(phases, g.initial)
	case scenarioFull:
		phases = append(phases, g.initial, g.incremental)
	case scenarioIncremental:
		phases = append(phases, g.setup, g.incremental)
	case scenarioGet:
		phases = append(phases, g.setup, g.getPhase)
	}
	for _, phase := range phases {
		ph, err := phase(ctx)
		if err != nil {
			return nil, err
		}
		rep.Phases = append(rep.Phases, ph)
	}
	rep.WallSeconds = time.Since(g.start).Seconds()
	rep.Answers = g.answers.summary()
	return rep, nil
}

// pacing returns the pacing of a stage; measured stages honour --rate and --duration, the setup
// phase runs closed-loop without a cap.
func (g *loadgen) pacing(measured bool) pacing {
	p := pacing{concurrency: g.o.concurrency, maxRetries: g.o.maxRetries, retryDelay: g.o.retryDelay}
	if measured {
		if g.o.duration > 0 && g.deadline.IsZero() {
			g.deadline = time.Now().Add(g.o.duration)
		}
		p.rate = g.o.rate
		p.deadline = g.deadline
	}
	return p
}

// phaseRun accumulates the stages of one phase.
type phaseRun struct {
	g        *loadgen
	measured bool
	start    time.Time
	rep      PhaseReport
}

func (g *loadgen) newPhase(name string, measured bool) *phaseRun {
	return &phaseRun{g: g, measured: measured, start: time.Now(), rep: PhaseReport{Name: name, Operations: []OpReport{}}}
}

// stage runs one operation over n objects and appends its report, then the reports of the side
// operations (lookups) that made requests. It fails only when portal-sim's stats cannot be read.
func (ph *phaseRun) stage(ctx context.Context, op *opStats, n int, do func(ctx context.Context, i int) outcome, side ...*opStats) (time.Duration, error) {
	var before map[callKey]int64
	if ph.g.o.simURL != "" {
		var err error
		if before, err = ph.g.simStats(ctx); err != nil {
			return 0, err
		}
	}
	res := runStage(ctx, ph.g.pacing(ph.measured), stage{op: op, n: n, do: do})
	r := op.report(res.wall)
	if ph.g.o.simURL != "" {
		after, err := ph.g.simStats(ctx)
		if err != nil {
			return 0, err
		}
		r.PortalCalls = portalDelta(before, after, r.Requests)
	}
	ph.rep.Operations = append(ph.rep.Operations, r)
	for _, s := range side {
		if sr := s.report(res.wall); sr.Requests > 0 {
			ph.rep.Operations = append(ph.rep.Operations, sr)
		}
	}
	ph.rep.StoppedEarly = ph.rep.StoppedEarly || res.stopped
	return res.wall, nil
}

func (ph *phaseRun) done() PhaseReport {
	ph.rep.WallSeconds = time.Since(ph.start).Seconds()
	return ph.rep
}

func (g *loadgen) simStats(ctx context.Context) (map[callKey]int64, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), simStatsTimeout)
	defer cancel()
	return fetchSimStats(ctx, g.client, g.o.simURL)
}

// initial is Entra's initial cycle: the users, then the groups and their members.
func (g *loadgen) initial(ctx context.Context) (PhaseReport, error) {
	ph := g.newPhase("initial", true)
	if err := g.userCycle(ctx, ph); err != nil {
		return PhaseReport{}, err
	}
	if err := g.groupCycle(ctx, ph); err != nil {
		return PhaseReport{}, err
	}
	return ph.done(), nil
}

// setup learns the users' ids (creating those missing) before an incremental or get phase.
func (g *loadgen) setup(ctx context.Context) (PhaseReport, error) {
	ph := g.newPhase("setup", false)
	if err := g.userCycle(ctx, ph); err != nil {
		return PhaseReport{}, err
	}
	return ph.done(), nil
}

// userCycle filters every user by userName and creates those not found; a 409 is resolved by a lookup.
func (g *loadgen) userCycle(ctx context.Context, ph *phaseRun) error {
	matched := make([]bool, len(g.users)) // the filter answered; each index is written by one attempt at a time
	filterWall, err := ph.stage(ctx, newOpStats("filter"), len(g.users), func(ctx context.Context, i int) outcome {
		u := g.users[i]
		id, o := g.target.findUser(ctx, u)
		if o.ok {
			matched[i], u.id = true, id
		}
		return o
	})
	if err != nil {
		return err
	}
	var missing []*genUser
	for i, u := range g.users {
		if matched[i] && u.id == "" {
			missing = append(missing, u)
		}
	}
	lookup := newOpStats("create_lookup")
	createWall, err := ph.stage(ctx, newOpStats("create"), len(missing), func(ctx context.Context, i int) outcome {
		u := missing[i]
		id, o := g.target.createUser(ctx, u)
		o, id = resolveConflict(ctx, o, id, lookup, func(ctx context.Context) (string, outcome) { return g.target.findUser(ctx, u) })
		if o.ok {
			u.id = id
		}
		return o
	}, lookup)
	if err != nil {
		return err
	}
	if wall := (filterWall + createWall).Seconds(); wall > 0 {
		ph.rep.UsersPerSecond = float64(len(knownUsers(g.users))) / wall
	}
	return nil
}

// groupCycle filters every group by displayName, creates those not found, then adds their members.
func (g *loadgen) groupCycle(ctx context.Context, ph *phaseRun) error {
	if len(g.groups) == 0 {
		return nil
	}
	matched := make([]bool, len(g.groups))
	if _, err := ph.stage(ctx, newOpStats("group_filter"), len(g.groups), func(ctx context.Context, i int) outcome {
		grp := g.groups[i]
		id, o := g.target.findGroup(ctx, grp)
		if o.ok {
			matched[i], grp.id = true, id
		}
		return o
	}); err != nil {
		return err
	}
	var missing []*genGroup
	for i, grp := range g.groups {
		if matched[i] && grp.id == "" {
			missing = append(missing, grp)
		}
	}
	lookup := newOpStats("group_create_lookup")
	if _, err := ph.stage(ctx, newOpStats("group_create"), len(missing), func(ctx context.Context, i int) outcome {
		grp := missing[i]
		id, o := g.target.createGroup(ctx, grp)
		o, id = resolveConflict(ctx, o, id, lookup, func(ctx context.Context) (string, outcome) { return g.target.findGroup(ctx, grp) })
		if o.ok {
			grp.id = id
		}
		return o
	}, lookup); err != nil {
		return err
	}
	patches := memberPatches(g.groups, g.users)
	_, err := ph.stage(ctx, newOpStats("group_patch"), len(patches), func(ctx context.Context, i int) outcome {
		return g.target.addMembers(ctx, patches[i])
	})
	return err
}

// resolveConflict handles a create that met an existing object (409) as Entra does: by matching. The
// id comes from the answer when it names it, else from lookup, whose attempt is recorded in
// lookupStats. It returns the create's outcome, now ok with conflict set, or still failed (and
// retryable when the lookup may succeed later) when the lookup fails or finds nothing.
func resolveConflict(ctx context.Context, o outcome, id string, lookupStats *opStats, lookup func(context.Context) (string, outcome)) (outcome, string) {
	if o.err != nil || o.status != http.StatusConflict {
		return o, id
	}
	if id == "" {
		begin := time.Now()
		lid, lo := lookup(ctx)
		lookupStats.record(lo, time.Since(begin))
		if !lo.ok || lid == "" {
			// A failed lookup may succeed later; an object that exists but cannot be found may be a
			// create still in flight elsewhere: try again later either way.
			o.retryable = lo.ok || lo.retryable
			return o, ""
		}
		id = lid
	}
	o.ok, o.conflict, o.retryable = true, true, false
	return o, id
}

// incremental is Entra's incremental cycle: GET every user by id, PATCH a fraction, disable a fraction.
func (g *loadgen) incremental(ctx context.Context) (PhaseReport, error) {
	ph := g.newPhase("incremental", true)
	known := knownUsers(g.users)
	if _, err := ph.stage(ctx, newOpStats("get"), len(known), func(ctx context.Context, i int) outcome {
		return g.target.getUser(ctx, known[i].id)
	}); err != nil {
		return PhaseReport{}, err
	}
	patch, disable := pickFractions(g.users, g.o.patchFraction, g.o.disableFraction, g.pickRNG)
	if _, err := ph.stage(ctx, newOpStats("patch"), len(patch), func(ctx context.Context, i int) outcome {
		return g.target.patchUser(ctx, patch[i].id, changeFor(patch[i], g.tag))
	}); err != nil {
		return PhaseReport{}, err
	}
	if _, err := ph.stage(ctx, newOpStats("disable"), len(disable), func(ctx context.Context, i int) outcome {
		return g.target.disableUser(ctx, disable[i].id)
	}); err != nil {
		return PhaseReport{}, err
	}
	return ph.done(), nil
}

// getPhase sends --requests GETs by id, cycling over the users.
func (g *loadgen) getPhase(ctx context.Context) (PhaseReport, error) {
	ph := g.newPhase("get", true)
	known := knownUsers(g.users)
	n := g.o.requests
	if len(known) == 0 {
		n = 0
	}
	if _, err := ph.stage(ctx, newOpStats("get"), n, func(ctx context.Context, i int) outcome {
		return g.target.getUser(ctx, known[i%len(known)].id)
	}); err != nil {
		return PhaseReport{}, err
	}
	return ph.done(), nil
}
