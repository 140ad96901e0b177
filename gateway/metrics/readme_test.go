package metrics_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/gateway/metrics"
)

// readmeMetricRow is a row of the README's metrics table: the metric names, then the label names.
var readmeMetricRow = regexp.MustCompile("(?m)^ *\\| (`scimgw_[^|]*)\\|([^|]*)\\|")

// TestREADMEMetricsTable keeps the README's table of metrics true: every gateway metric is in it with
// exactly the label names it has, and it lists no other.
func TestREADMEMetricsTable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	backticked := regexp.MustCompile("`([^`]+)`")
	for _, row := range readmeMetricRow.FindAllStringSubmatch(string(data), -1) {
		var labels []string
		for _, l := range backticked.FindAllStringSubmatch(row[2], -1) {
			labels = append(labels, l[1])
		}
		sort.Strings(labels)
		for _, name := range backticked.FindAllStringSubmatch(row[1], -1) {
			documented[name[1]] = strings.Join(labels, ",")
		}
	}
	if len(documented) == 0 {
		t.Fatal("no metrics table in README.md")
	}

	// Every series once, so that every family shows its labels.
	m := metrics.New()
	m.ObserveSCIM("default", "/scim/v2/Users", http.MethodPost, 201, time.Millisecond)
	m.SCIMAuthFailure()
	m.ObservePortalCall("default", "createUser", 201, time.Millisecond)
	m.PortalRetry("default", "getUser")
	m.BreakerTransition("default", metrics.BreakerClosed, metrics.BreakerOpen)
	m.SetBreakerState("default", metrics.BreakerOpen)
	m.CacheHit("default", metrics.CacheUserID)
	m.CacheMiss("default", metrics.CacheUserID)
	m.RedisError()
	m.SetRedisUp(true)
	m.CreateOutcome("default", "User", "created")
	m.Translation("default", "create", "created")
	m.ConfigReload(true)
	m.SetConfigVersion(1)
	m.SetPortalQueue("default", func() int { return 0 }, func() int { return 0 })
	m.GlobalWait("default", time.Millisecond, true)
	m.SetGlobalSlots("default", fakeGlobal{limit: 1})
	m.ReconcileRun(map[string]int{"unmanaged": 0}, time.Second, time.Now())
	actual := map[string]string{}
	for name, fam := range scrape(t, m).families {
		if !strings.HasPrefix(name, metrics.Namespace) {
			continue
		}
		var labels []string
		if ms := fam.GetMetric(); len(ms) > 0 {
			for _, l := range ms[0].GetLabel() {
				labels = append(labels, l.GetName())
			}
		}
		sort.Strings(labels)
		actual[name] = strings.Join(labels, ",")
	}
	for _, name := range sortedNames(actual) {
		doc, ok := documented[name]
		switch {
		case !ok:
			t.Errorf("README.md does not list %s (labels %q)", name, actual[name])
		case doc != actual[name]:
			t.Errorf("README.md gives %s the labels %q; it has %q", name, doc, actual[name])
		}
	}
	for _, name := range sortedNames(documented) {
		if _, ok := actual[name]; !ok {
			t.Errorf("README.md lists %s, which the gateway does not have", name)
		}
	}
}

func sortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
