package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Where and how the tests install the chart (as `helm template` would).
const (
	chartDir    = "scim-gateway"
	releaseName = "scimgw"
	namespace   = "identity"
	kubeVersion = "v1.30.0"
	// fullname is the chart's name for its objects with releaseName ("<release>-<chart>").
	fullname = releaseName + "-scim-gateway"
)

// rendered is one rendering of the chart: every object, decoded into its Kubernetes type, and NOTES.txt.
type rendered struct {
	objects []object
	notes   string
}

// object is one rendered manifest.
type object struct {
	kind, name string
	source     string // template file, for messages
	labels     map[string]string
	typed      any // *appsv1.Deployment, *corev1.Service, ...
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor (monitoring.coreos.com/v1)
// that the chart renders; its types are not a dependency of the project. Decoding into it with unknown
// fields refused catches a misspelt or misplaced field of the template.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// newObject returns an empty value of the Go type of apiVersion/kind.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 Pod":
		return &corev1.Pod{}, nil
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &serviceMonitor{}, nil
	}
	return nil, fmt.Errorf("no Go type for apiVersion %q kind %q", apiVersion, kind)
}

// readValues reads a values file of the chart (a path relative to the chart).
func readValues(t *testing.T, name string) map[string]any {
	t.Helper()
	vals, err := chartutil.ReadValuesFile(filepath.Join(chartDir, name))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return vals.AsMap()
}

// ciValuesFiles lists the chart's CI values files (ci/*-values.yaml, the helm convention).
func ciValuesFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/*-values.yaml in %s (err %v)", chartDir, err)
	}
	for i, f := range files {
		files[i], _ = filepath.Rel(chartDir, f)
	}
	sort.Strings(files)
	return files
}

// renderOptions adjust an installation.
type renderOptions struct {
	skipSchemaValidation bool
}

// render installs the chart with vals as `helm template` does (dry run, client only), then decodes every
// manifest, hooks included, into its Kubernetes type with unknown fields refused. The error is the
// chart's refusal (schema or template); a manifest that does not decode fails the test.
func render(t *testing.T, vals map[string]any, opts renderOptions) (*rendered, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatalf("kube version: %v", err)
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = releaseName
	install.Namespace = namespace
	install.KubeVersion = kv
	install.SkipSchemaValidation = opts.skipSchemaValidation
	rel, err := install.RunWithContext(context.Background(), chrt, vals)
	if err != nil {
		return nil, err
	}

	out := &rendered{notes: rel.Info.Notes}
	docs := splitDocuments(rel.Manifest)
	for _, h := range rel.Hooks {
		docs = append(docs, splitDocuments(h.Manifest)...)
	}
	for _, doc := range docs {
		out.objects = append(out.objects, decodeObject(t, doc.source, doc.body))
	}
	return out, nil
}

// splitDocuments splits a rendered manifest stream into its documents, each with the template it came
// from (helm's "# Source:" comment).
func splitDocuments(manifest string) []struct{ source, body string } {
	var docs []struct{ source, body string }
	for _, part := range strings.Split(manifest, "\n---") {
		body := strings.TrimSpace(strings.TrimPrefix(part, "---"))
		if body == "" {
			continue
		}
		source := ""
		if first, _, _ := strings.Cut(body, "\n"); strings.HasPrefix(first, "# Source: ") {
			source = strings.TrimPrefix(first, "# Source: ")
		}
		docs = append(docs, struct{ source, body string }{source, body})
	}
	return docs
}

// decodeObject decodes one YAML manifest into its Kubernetes type, refusing unknown fields.
func decodeObject(t *testing.T, source, body string) object {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(body))
	if err != nil {
		t.Fatalf("%s: not YAML: %v\n%s", source, err, body)
	}
	var meta struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	typed, err := newObject(meta.APIVersion, meta.Kind)
	if err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(typed); err != nil {
		t.Fatalf("%s: %s %s does not decode into its Kubernetes type: %v\n%s", source, meta.Kind, meta.Metadata.Name, err, body)
	}
	return object{kind: meta.Kind, name: meta.Metadata.Name, source: source, labels: meta.Metadata.Labels, typed: typed}
}

// all returns the rendered objects of kind, as their Go type.
func all[T any](r *rendered, kind string) []T {
	var out []T
	for _, o := range r.objects {
		if o.kind == kind {
			out = append(out, o.typed.(T))
		}
	}
	return out
}

// one returns the rendered object of kind and name, failing the test when there is none.
func one[T any](t *testing.T, r *rendered, kind, name string) T {
	t.Helper()
	for _, o := range r.objects {
		if o.kind == kind && o.name == name {
			return o.typed.(T)
		}
	}
	t.Fatalf("no %s %q rendered; have %v", kind, name, r.inventory())
	var zero T
	return zero
}

// inventory lists the rendered objects as "Kind/name", sorted.
func (r *rendered) inventory() []string {
	var names []string
	for _, o := range r.objects {
		names = append(names, o.kind+"/"+o.name)
	}
	sort.Strings(names)
	return names
}

// withOverrides returns a copy of base with overrides deep-merged in (as a second -f values file).
func withOverrides(base, overrides map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overrides {
		if sub, ok := v.(map[string]any); ok {
			if cur, ok := out[k].(map[string]any); ok {
				out[k] = withOverrides(cur, sub)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// parseValues parses inline YAML values (for the tests' overrides).
func parseValues(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("test values: %v\n%s", err, s)
	}
	return m
}
