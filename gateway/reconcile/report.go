package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one JSON document: {"findings":[...],"summary":{...}}.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes the report for a person: the findings grouped by kind, one line each (resource,
// portal ids, SCIM id, login or group, store key, detail), then a summary line.
func WriteTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kind := range Kinds {
		n := rep.Summary.ByKind[kind]
		if n == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s (%d)\n", kind, n)
		for _, f := range rep.Findings {
			if f.Kind != kind {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", f.Resource, portalIDs(f), orDash(f.SCIMID), who(f), f.Detail)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, SummaryLine(rep))
	return err
}

// SummaryLine is the one-line summary that ends the table.
func SummaryLine(rep *Report) string {
	s := rep.Summary
	var counts []string
	for _, k := range Kinds {
		counts = append(counts, strconv.Itoa(s.ByKind[k])+" "+k)
	}
	verdict := "clean"
	if !s.Clean {
		verdict = "drift"
	}
	return fmt.Sprintf("%s: %d finding(s) (%s); tenant %s: %d portal users, %d portal groups, %d store entries read in %.1fs",
		verdict, s.Findings, strings.Join(counts, ", "), s.Tenant, s.PortalUsers, s.PortalGroups, s.StoreEntries, s.DurationSeconds)
}

func portalIDs(f Finding) string {
	var parts []string
	if f.IDGroup != 0 {
		parts = append(parts, "idGroup="+strconv.FormatInt(f.IDGroup, 10))
	}
	if f.IDUser != 0 {
		parts = append(parts, "idUser="+strconv.FormatInt(f.IDUser, 10))
	}
	if f.StoreKey != "" {
		parts = append(parts, "key="+f.StoreKey)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func who(f Finding) string {
	switch {
	case f.Group != "" && f.Login != "":
		return f.Group + " / " + f.Login
	case f.Group != "":
		return f.Group
	}
	return orDash(f.Login)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
