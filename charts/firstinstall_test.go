package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/scim-gateway/scim-gateway/config"
)

// readChartFile reads a file of the chart.
func readChartFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// withoutLeadingComments drops the comment lines a values file starts with.
func withoutLeadingComments(s string) string {
	for strings.HasPrefix(s, "#") {
		_, s, _ = strings.Cut(s, "\n")
	}
	return s
}

// TestREADMEShowsTheSmallestValues keeps the chart README's first-install values files the tested
// ones: each YAML block is, byte for byte, a ci/ file without its comments.
func TestREADMEShowsTheSmallestValues(t *testing.T) {
	readme := readChartFile(t, "README.md")
	for _, file := range []string{"ci/minimal-values.yaml", "ci/minimal-existing-secret-values.yaml"} {
		body := withoutLeadingComments(readChartFile(t, file))
		if !strings.Contains(readme, "("+"`"+file+"`"+")") || !strings.Contains(readme, "```yaml\n"+body+"```\n") {
			t.Errorf("README.md does not show %s (named, then in a yaml block):\n%s", file, body)
		}
	}
}

// TestDefaultsRefuseInOneLine: the chart's defaults alone fail with one line that names every value
// to set, the very line the README shows.
func TestDefaultsRefuseInOneLine(t *testing.T) {
	_, err := render(t, map[string]any{}, renderOptions{})
	if err == nil {
		t.Fatal("the chart's defaults rendered")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("the refusal takes more than one line:\n%s", msg)
	}
	if !strings.Contains(readChartFile(t, "README.md"), "Error: "+msg+"\n") {
		t.Errorf("README.md does not show the defaults' refusal as it is:\nError: %s", msg)
	}
}

// TestRefusalsNameTheValues: each refusal of the smallest values plus one mistake is one line naming
// the values to set or change, and lists every problem, not only the first.
func TestRefusalsNameTheValues(t *testing.T) {
	tests := []struct {
		name      string
		overrides string
		want      []string
	}{
		{"two replicas without Redis", "replicaCount: 2",
			[]string{"replicaCount=2 needs Redis", "config.store.redis.url", "bundledRedis.enabled=true", "replicaCount=1"}},
		{"autoscaling without Redis", "autoscaling: {enabled: true}",
			[]string{"autoscaling.enabled needs Redis", "config.store.redis.url", "bundledRedis.enabled=true", "autoscaling.enabled=false"}},
		{"no SCIM token", "secrets: {scimTokens: [{name: entra, value: ''}]}",
			[]string{"set secrets.scimTokens[0].value (or secrets.existingSecret"}},
		{"no SCIM token and three replicas without Redis", "replicaCount: 3\nsecrets: {scimTokens: [{name: entra, value: ''}]}",
			[]string{"set secrets.scimTokens[0].value", "; replicaCount=3 needs Redis"}},
		{"a bearer portal without its token", "config: {upstream: {auth: {type: bearer}}}",
			[]string{"set secrets.upstreamToken.value"}},
		{"an existing Secret but no portal URL", "secrets: {existingSecret: creds}\nconfig: {upstream: {baseURL: ''}}",
			[]string{"set config.upstream.baseURL (the portal's absolute http(s) URL)."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := withOverrides(readValues(t, "ci/minimal-values.yaml"), parseValues(t, tt.overrides))
			_, err := render(t, vals, renderOptions{})
			if err == nil {
				t.Fatal("the chart rendered")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("the refusal takes more than one line:\n%s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the refusal does not say %q:\n%s", w, msg)
				}
			}
		})
	}
}

// TestNotesOfTheSmallestValues: NOTES.txt repeats the values every installation needs, where the
// credentials are, and that the state is in memory.
func TestNotesOfTheSmallestValues(t *testing.T) {
	for _, tt := range []struct {
		file string
		want []string
	}{
		{"ci/minimal-values.yaml", []string{
			"Portal (config.upstream.baseURL):  https://portal.example.com/portal\n",
			"OAuth client scim-gateway (config.upstream.auth.clientID), its secret in Secret " + fullname + ", key upstream-client-secret\n",
			"SCIM tokens (secrets.scimTokens):  entra, in Secret " + fullname + "\n",
			"Replicas and store:                1 (replicaCount), state in memory (no Redis)\n",
			"helm show readme",
		}},
		{"ci/minimal-existing-secret-values.yaml", []string{
			"its secret in Secret scim-gateway-credentials, key upstream-client-secret\n",
			"entra, in Secret scim-gateway-credentials (secrets.existingSecret, yours)\n",
		}},
		{"ci/bundled-redis-values.yaml", []string{"the bundled Redis\n"}},
		{"ci/defaults-values.yaml", []string{"Replicas and store:                2 (replicaCount), Redis (config.store.redis)\n"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			r, err := render(t, readValues(t, tt.file), renderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.notes, w) {
					t.Errorf("NOTES.txt does not say %q:\n%s", w, r.notes)
				}
			}
		})
	}
}

// TestRenderedConfigChecksOffline: the configuration the chart renders for every CI values file passes
// `scim-gateway check-config --skip-files` away from the pod (as docs/deploy.md says), and without
// --skip-files fails only on the Secret files it cannot read there.
func TestRenderedConfigChecksOffline(t *testing.T) {
	for _, file := range ciValuesFiles(t) {
		t.Run(file, func(t *testing.T) {
			r, err := render(t, readValues(t, file), renderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cm := one[*corev1.ConfigMap](t, r, "ConfigMap", fullname)
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(cm.Data["config.yaml"]), 0o600); err != nil {
				t.Fatal(err)
			}
			warnings, problems := config.CheckWith(path, nil, config.LoadOptions{SkipFiles: true})
			if len(problems) > 0 {
				t.Fatalf("check-config --skip-files: %v", problems)
			}
			skipped := 0
			for _, w := range warnings {
				if strings.HasSuffix(w, " not read (files skipped)") {
					skipped++
				}
			}
			_, problems = config.Check(path, nil)
			if skipped == 0 || len(problems) != skipped {
				t.Fatalf("without --skip-files: %d problems %v, want one per file skipped (%d: %v)", len(problems), problems, skipped, warnings)
			}
			for _, p := range problems {
				if !strings.Contains(p.Message, "cannot read the file") {
					t.Errorf("without --skip-files: %s", p)
				}
			}
		})
	}
}
