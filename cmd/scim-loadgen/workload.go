package main

import (
	"fmt"
	"math/rand/v2"
)

// genUser is a generated user and the id the server gave it.
type genUser struct {
	index          int
	userName       string // PREFIX-i@DOMAIN, Entra's userPrincipalName
	login          string // PREFIX-i, the portal userName
	domain         string
	externalID     string
	givenName      string
	familyName     string
	displayName    string
	email          string
	mobile         string
	title          string
	department     string
	employeeNumber string

	id string // SCIM id, or the portal's idUser with --direct; "" until known
}

// genGroup is a generated group, its members (indexes into the users) and the id the server gave it.
type genGroup struct {
	index       int
	displayName string
	externalID  string
	members     []int

	id string
}

var (
	givenNames  = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus"}
	familyNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Wirth"}
	titles      = []string{"Engineer", "Analyst", "Manager", "Consultant", "Designer", "Accountant"}
	departments = []string{"Sales", "Finance", "Engineering", "Operations", "Legal", "Support"}
)

// newGenRNG returns the source of the generated attributes of a run with seed: the same seed gives
// the same users, which is what lets --verify recompute them.
func newGenRNG(seed int64) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 0)) }

// generateUsers returns n users named prefix-i@domain, i from 1, with attributes drawn from rng.
func generateUsers(n int, prefix, domain string, rng *rand.Rand) []*genUser {
	users := make([]*genUser, n)
	for i := range users {
		login := fmt.Sprintf("%s-%d", prefix, i+1)
		given := givenNames[rng.IntN(len(givenNames))]
		family := familyNames[rng.IntN(len(familyNames))]
		users[i] = &genUser{
			index:          i,
			userName:       login + "@" + domain,
			login:          login,
			domain:         domain,
			externalID:     login,
			givenName:      given,
			familyName:     family,
			displayName:    given + " " + family,
			email:          login + "@" + domain,
			mobile:         fmt.Sprintf("+1 555 %07d", rng.IntN(10_000_000)),
			title:          titles[rng.IntN(len(titles))],
			department:     departments[rng.IntN(len(departments))],
			employeeNumber: fmt.Sprintf("%06d", 100000+i+1),
		}
	}
	return users
}

// generateGroups returns n groups named prefix-group-g, each with members consecutive users
// (wrapping around), group g starting at user g*members.
func generateGroups(n, members, users int, prefix string) []*genGroup {
	groups := make([]*genGroup, n)
	for g := range groups {
		name := fmt.Sprintf("%s-group-%d", prefix, g+1)
		grp := &genGroup{index: g, displayName: name, externalID: name}
		for j := range members {
			grp.members = append(grp.members, (g*members+j)%users)
		}
		groups[g] = grp
	}
	return groups
}

// userChange is what an incremental PATCH changes.
type userChange struct {
	title      string
	department string
}

// changeFor returns the change of u in a run tagged tag, so that every run changes the values.
func changeFor(u *genUser, tag string) userChange {
	return userChange{title: u.title + " " + tag, department: u.department + " " + tag}
}

// pickFractions chooses, from the users with an id, disjoint sets to patch and to disable: a seeded
// permutation, the first patchFraction of it patched, the next disableFraction disabled.
func pickFractions(users []*genUser, patchFraction, disableFraction float64, rng *rand.Rand) (patch, disable []*genUser) {
	known := knownUsers(users)
	rng.Shuffle(len(known), func(i, j int) { known[i], known[j] = known[j], known[i] })
	np := fractionOf(len(known), patchFraction)
	nd := fractionOf(len(known), disableFraction)
	if np+nd > len(known) {
		nd = len(known) - np
	}
	return known[:np], known[np : np+nd]
}

// fractionOf is f of n, rounded to the nearest integer.
func fractionOf(n int, f float64) int { return int(float64(n)*f + 0.5) }

// knownUsers returns the users whose id is known, in order.
func knownUsers(users []*genUser) []*genUser {
	var out []*genUser
	for _, u := range users {
		if u.id != "" {
			out = append(out, u)
		}
	}
	return out
}

// memberBatch is the most members one group PATCH adds: Entra adds several members per operation.
const memberBatch = 50

// memberPatch is one group PATCH: the group and the ids of the members it adds.
type memberPatch struct {
	group     *genGroup
	memberIDs []string
	added     int // --direct: how many members the portal has confirmed so far
}

// memberPatches splits the members with known ids of the groups with known ids into PATCHes of at
// most memberBatch members.
func memberPatches(groups []*genGroup, users []*genUser) []*memberPatch {
	var out []*memberPatch
	for _, g := range groups {
		if g.id == "" {
			continue
		}
		var ids []string
		for _, m := range g.members {
			if id := users[m].id; id != "" {
				ids = append(ids, id)
			}
		}
		for len(ids) > 0 {
			n := min(len(ids), memberBatch)
			out = append(out, &memberPatch{group: g, memberIDs: ids[:n:n]})
			ids = ids[n:]
		}
	}
	return out
}
