package charts

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// Names the chart gives its objects for releaseName.
const (
	scimServiceName  = fullname
	adminServiceName = fullname + "-admin"
	redisName        = fullname + "-redis"
	configPath       = "/etc/scim-gateway/config/config.yaml"
	gatewayContainer = "scim-gateway"
)

// scenarios are the CI values files and what each must render: how many objects of each kind, and the
// Tenant URL NOTES.txt must print ("" when there is no Ingress).
var scenarios = []struct {
	file      string
	kinds     map[string]int
	tenantURL string
}{
	{"ci/bundled-redis-values.yaml", map[string]int{"ConfigMap": 1, "Secret": 1, "ServiceAccount": 1, "Service": 3, "Deployment": 2, "PodDisruptionBudget": 1, "Pod": 1}, ""},
	{"ci/cluster-values.yaml", map[string]int{"ConfigMap": 1, "Secret": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 1, "PodDisruptionBudget": 1, "Pod": 1}, ""},
	{"ci/defaults-values.yaml", map[string]int{"ConfigMap": 1, "Secret": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 1, "PodDisruptionBudget": 1, "Pod": 1}, ""},
	{"ci/everything-values.yaml", map[string]int{"ConfigMap": 1, "Secret": 1, "ServiceAccount": 1, "Service": 3, "Deployment": 2, "PodDisruptionBudget": 1, "Pod": 1,
		"Ingress": 1, "ServiceMonitor": 1, "HorizontalPodAutoscaler": 1, "NetworkPolicy": 2}, "https://scim.example.com/scim/v2/"},
	{"ci/existing-secret-values.yaml", map[string]int{"ConfigMap": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 1, "PodDisruptionBudget": 1, "Pod": 1}, ""},
	{"ci/minimal-existing-secret-values.yaml", map[string]int{"ConfigMap": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 1, "PodDisruptionBudget": 1, "Pod": 1}, ""},
	{"ci/minimal-values.yaml", map[string]int{"ConfigMap": 1, "Secret": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 1, "PodDisruptionBudget": 1, "Pod": 1}, ""},
	{"ci/sentinel-values.yaml", map[string]int{"ConfigMap": 1, "Secret": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 1, "PodDisruptionBudget": 1, "Pod": 1}, ""},
	{"ci/single-replica-memory-values.yaml", map[string]int{"ConfigMap": 1, "Secret": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 1, "Pod": 1}, ""},
	{"ci/tenants-values.yaml", map[string]int{"ConfigMap": 1, "Secret": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 1, "PodDisruptionBudget": 1, "Pod": 1}, ""},
}

// TestScenariosCoverCIValues keeps the scenario table and ci/ in step: a new values file needs its
// expectations.
func TestScenariosCoverCIValues(t *testing.T) {
	var files []string
	for _, s := range scenarios {
		files = append(files, s.file)
	}
	if got := ciValuesFiles(t); !slices.Equal(got, files) {
		t.Fatalf("ci values files %v, scenarios %v", got, files)
	}
}

// TestLintStrict is `helm lint --strict --values ci/<file>` for every CI values file: any warning fails.
func TestLintStrict(t *testing.T) {
	for _, file := range ciValuesFiles(t) {
		t.Run(file, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = namespace
			result := lint.Run([]string{chartDir}, readValues(t, file))
			if result.TotalChartsLinted != 1 {
				t.Fatalf("linted %d charts, want 1 (errors %v)", result.TotalChartsLinted, result.Errors)
			}
			for _, msg := range result.Messages {
				t.Logf("lint: %s", msg)
			}
			if len(result.Errors) > 0 {
				t.Fatalf("helm lint --strict: %v", result.Errors)
			}
		})
	}
}

// TestRender renders every CI values file and checks the manifests: each decodes into its Kubernetes
// type with unknown fields refused (in render), and the checks below hold.
func TestRender(t *testing.T) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		t.Run(sc.file, func(t *testing.T) {
			r, err := render(t, readValues(t, sc.file), renderOptions{})
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			counts := map[string]int{}
			for _, o := range r.objects {
				counts[o.kind]++
			}
			if fmt.Sprint(counts) != fmt.Sprint(sc.kinds) {
				t.Fatalf("rendered kinds %v, want %v; objects %v", counts, sc.kinds, r.inventory())
			}
			vals, err := chartutil.CoalesceValues(chrt, readValues(t, sc.file))
			if err != nil {
				t.Fatal(err)
			}
			c := &check{t: t, r: r, vals: vals, chartVersion: chrt.Metadata.Version, appVersion: chrt.Metadata.AppVersion}
			c.deployment = one[*appsv1.Deployment](t, r, "Deployment", fullname)
			c.container = containerNamed(t, c.deployment.Spec.Template.Spec, gatewayContainer)
			c.loaded = c.loadConfig()

			t.Run("labels", c.labels)
			t.Run("pods are hardened", c.hardenedPods)
			t.Run("gateway deployment", c.gatewayDeployment)
			t.Run("secret wiring", c.secretWiring)
			t.Run("redis", c.redis)
			t.Run("redis credentials", c.redisCredentials)
			t.Run("services", c.services)
			t.Run("helm test pod", c.testPod)
			t.Run("disruption budget and autoscaler", c.scaling)
			t.Run("ingress and notes", func(t *testing.T) { c.ingress(t, sc.tenantURL) })
			t.Run("service monitor", c.serviceMonitor)
			t.Run("network policies", c.networkPolicies)
			t.Run("tenants", c.tenants)
		})
	}
}

// check holds one rendering and what the checks share.
type check struct {
	t            *testing.T // the scenario's test, for loadConfig
	r            *rendered
	vals         map[string]any
	chartVersion string
	appVersion   string
	deployment   *appsv1.Deployment
	container    corev1.Container
	loaded       *config.Config
}

// value reads a value by its dotted path ("" when unset), as the chart sees it.
func (c *check) value(p string) any {
	var cur any = c.vals
	for _, k := range strings.Split(p, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func (c *check) gatewayPodLabels() map[string]string { return c.deployment.Spec.Template.Labels }

func (c *check) labels(t *testing.T) {
	wantVersion := c.appVersion
	if tag, _ := c.value("image.tag").(string); tag != "" {
		wantVersion = tag
	}
	want := map[string]string{
		"app.kubernetes.io/name":       "scim-gateway",
		"app.kubernetes.io/instance":   releaseName,
		"app.kubernetes.io/version":    wantVersion,
		"app.kubernetes.io/managed-by": "Helm",
		"helm.sh/chart":                "scim-gateway-" + c.chartVersion,
	}
	for _, o := range c.r.objects {
		for k, v := range want {
			if got := o.labels[k]; got != v {
				t.Errorf("%s %s: label %s = %q, want %q", o.kind, o.name, k, got, v)
			}
		}
	}
	for _, d := range all[*appsv1.Deployment](c.r, "Deployment") {
		for k, v := range want {
			if got := d.Spec.Template.Labels[k]; got != v {
				t.Errorf("Deployment %s pod template: label %s = %q, want %q", d.Name, k, got, v)
			}
		}
		if !matches(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("Deployment %s: selector %v does not match its pods %v", d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
		}
	}
}

// podSpecs returns every pod spec the chart renders: the Deployments' templates and the test Pod.
func (c *check) podSpecs() map[string]corev1.PodSpec {
	specs := map[string]corev1.PodSpec{}
	for _, d := range all[*appsv1.Deployment](c.r, "Deployment") {
		specs["Deployment "+d.Name] = d.Spec.Template.Spec
	}
	for _, p := range all[*corev1.Pod](c.r, "Pod") {
		specs["Pod "+p.Name] = p.Spec
	}
	return specs
}

func (c *check) hardenedPods(t *testing.T) {
	for name, spec := range c.podSpecs() {
		if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
			t.Errorf("%s: enableServiceLinks is not false", name)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken is not false", name)
		}
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
			t.Errorf("%s: pod securityContext %+v is not runAsNonRoot with runAsUser 65532", name, psc)
		}
		if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod seccompProfile is not RuntimeDefault", name)
		}
		for _, ctr := range slices.Concat(spec.InitContainers, spec.Containers) {
			sc := ctr.SecurityContext
			switch {
			case sc == nil:
				t.Errorf("%s/%s: no securityContext", name, ctr.Name)
				continue
			case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
				t.Errorf("%s/%s: runAsNonRoot is not true", name, ctr.Name)
			case sc.RunAsUser == nil || *sc.RunAsUser != 65532:
				t.Errorf("%s/%s: runAsUser is not 65532", name, ctr.Name)
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Errorf("%s/%s: readOnlyRootFilesystem is not true", name, ctr.Name)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Errorf("%s/%s: allowPrivilegeEscalation is not false", name, ctr.Name)
			case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
				t.Errorf("%s/%s: capabilities %+v, want drop [ALL] and no add", name, ctr.Name, sc.Capabilities)
			case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
				t.Errorf("%s/%s: seccompProfile is not RuntimeDefault", name, ctr.Name)
			}
			if _, ok := ctr.Resources.Limits[corev1.ResourceMemory]; !ok {
				t.Errorf("%s/%s: no memory limit", name, ctr.Name)
			}
			for _, m := range ctr.VolumeMounts {
				if m.SubPath != "" || m.SubPathExpr != "" {
					t.Errorf("%s/%s: volume %s mounted with a subPath (it would never see updates)", name, ctr.Name, m.Name)
				}
			}
		}
	}
}

func (c *check) gatewayDeployment(t *testing.T) {
	d, ctr := c.deployment, c.container
	hpa := len(all[*autoscalingv2.HorizontalPodAutoscaler](c.r, "HorizontalPodAutoscaler")) > 0
	switch {
	case hpa && d.Spec.Replicas != nil:
		t.Errorf("replicas = %d with the HPA on; the HPA owns the count", *d.Spec.Replicas)
	case !hpa && (d.Spec.Replicas == nil || float64(*d.Spec.Replicas) != c.value("replicaCount")):
		t.Errorf("replicas = %v, want replicaCount %v", d.Spec.Replicas, c.value("replicaCount"))
	}
	if len(ctr.Args) != 5 || !slices.Equal(ctr.Args[:4], []string{"serve", "--config", configPath, "--drain-delay"}) {
		t.Fatalf("args %q, want serve --config %s --drain-delay D", ctr.Args, configPath)
	}
	drain, err := time.ParseDuration(ctr.Args[4])
	if err != nil {
		t.Fatalf("--drain-delay %q: %v", ctr.Args[4], err)
	}
	if len(ctr.Command) > 0 {
		t.Errorf("command %q overrides the image's entrypoint", ctr.Command)
	}

	ports := map[string]int32{}
	for _, p := range ctr.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if got, want := fmt.Sprint(ports["scim"]), port(t, c.loaded.Server.Listen); got != want {
		t.Errorf("container port scim %s, config server.listen %q", got, c.loaded.Server.Listen)
	}
	if got, want := fmt.Sprint(ports["admin"]), port(t, c.loaded.Admin.Listen); got != want {
		t.Errorf("container port admin %s, config admin.listen %q", got, c.loaded.Admin.Listen)
	}

	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startupProbe", ctr.StartupProbe, "/healthz"},
		{"livenessProbe", ctr.LivenessProbe, "/healthz"},
		{"readinessProbe", ctr.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: not an HTTP GET probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("admin") {
			t.Errorf("%s: GET %s on port %s, want %s on the admin port", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}

	// On deletion the kubelet runs preStop, then sends SIGTERM; the gateway keeps serving for the drain
	// delay, then lets requests finish for up to shutdownTimeout. All of it must fit in the grace period.
	var preStop time.Duration
	if ctr.Lifecycle != nil && ctr.Lifecycle.PreStop != nil && ctr.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(ctr.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	stop := preStop + drain + c.loaded.Server.ShutdownTimeout
	if grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds; grace == nil || time.Duration(*grace)*time.Second <= stop {
		t.Errorf("terminationGracePeriodSeconds is not longer than preStop %s + drain delay %s + server.shutdownTimeout %s",
			preStop, drain, c.loaded.Server.ShutdownTimeout)
	}

	// Live reload: no checksum of the whole config or of the secrets on the pod template.
	for k := range d.Spec.Template.Annotations {
		if strings.HasPrefix(k, "checksum/") && k != "checksum/restart-only-config" {
			t.Errorf("pod template annotation %s would restart the pods on a live-reloadable change", k)
		}
	}

	cfgVolume := volumeNamed(t, d.Spec.Template.Spec, mountFor(t, ctr, configPath).Name)
	if cfgVolume.ConfigMap == nil || cfgVolume.ConfigMap.Name != fullname || len(cfgVolume.ConfigMap.Items) > 0 {
		t.Errorf("the config volume %+v is not the whole ConfigMap %s", cfgVolume.VolumeSource, fullname)
	}

	for _, tsc := range d.Spec.Template.Spec.TopologySpreadConstraints {
		if tsc.LabelSelector == nil || !matches(tsc.LabelSelector.MatchLabels, c.gatewayPodLabels()) {
			t.Errorf("topology spread on %s: labelSelector %v does not select the gateway pods", tsc.TopologyKey, tsc.LabelSelector)
		}
	}
	if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
		t.Errorf("no topologySpreadConstraints")
	}

	// Several replicas share state only through Redis.
	hasRedis := c.loaded.Store.Redis.URL != "" || len(c.loaded.Store.Redis.Addrs) > 0
	if (hpa || (d.Spec.Replicas != nil && *d.Spec.Replicas > 1)) && !hasRedis {
		t.Errorf("several replicas without Redis")
	}
}

// loadConfig writes the rendered config.yaml and the files its ...File keys name into a temporary
// directory (mounted paths rewritten into it; each Secret entry with the chart's value, or a dummy
// one for an existing Secret; a real CA for a caFile) and loads it with the gateway's own loader.
func (c *check) loadConfig() *config.Config {
	t := c.t
	t.Helper()
	cm := one[*corev1.ConfigMap](t, c.r, "ConfigMap", fullname)
	text, ok := cm.Data[path.Base(configPath)]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", fullname, path.Base(configPath))
	}
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(text), &tree); err != nil {
		t.Fatalf("rendered config.yaml is not YAML: %v\n%s", err, text)
	}
	dir := t.TempDir()
	secretData := c.secretData()
	for i, ref := range fileKeys(tree, "") {
		local := filepath.Join(dir, filepath.FromSlash(ref.file))
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			t.Fatal(err)
		}
		var content []byte
		switch {
		case strings.HasSuffix(ref.key, ".caFile"):
			content = testkit.NewCA(t).CertPEM
		case strings.HasPrefix(ref.file, "/etc/scim-gateway/tenants/"): // a tenant's Secret you manage
			content = fmt.Appendf(nil, "tenant-secret-value-%02d-0123456789", i)
		case strings.HasPrefix(ref.file, "/etc/scim-gateway/secrets/"):
			content = secretData[path.Base(ref.file)]
			if content == nil { // an existing Secret: any distinct value of token length
				content = fmt.Appendf(nil, "existing-secret-value-%02d-0123456789", i)
			}
		default:
			t.Fatalf("%s: %s is neither a secret nor a CA file; the test cannot fake it", ref.key, ref.file)
		}
		if err := os.WriteFile(local, content, 0o600); err != nil {
			t.Fatal(err)
		}
		ref.set(filepath.ToSlash(local))
	}
	rewritten, err := yaml.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, rewritten, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, warnings, err := config.Load(file, nil)
	if err != nil {
		t.Fatalf("the gateway refuses the rendered config: %v\n%s", err, text)
	}
	if len(warnings) > 0 {
		t.Fatalf("the gateway warns about the rendered config: %v", warnings)
	}
	return loaded
}

// secretData returns the chart-created Secret's entries (nil with an existing Secret).
func (c *check) secretData() map[string][]byte {
	secrets := all[*corev1.Secret](c.r, "Secret")
	if len(secrets) == 0 {
		return nil
	}
	return one[*corev1.Secret](c.t, c.r, "Secret", fullname).Data
}

// fileRef is one ...File key of the config tree with a value.
type fileRef struct {
	key, file string
	set       func(string)
}

// fileKeys returns every key of tree whose name ends in "File" and whose value is a non-empty string,
// in a stable order, each with a setter that rewrites it in tree.
func fileKeys(tree map[string]any, prefix string) []fileRef {
	var refs []fileRef
	keys := make([]string, 0, len(tree))
	for k := range tree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := strings.TrimPrefix(prefix+"."+k, ".")
		switch v := tree[k].(type) {
		case string:
			if strings.HasSuffix(k, "File") && v != "" {
				refs = append(refs, fileRef{key: p, file: v, set: func(s string) { tree[k] = s }})
			}
		case map[string]any:
			refs = append(refs, fileKeys(v, p)...)
		case []any:
			for i, item := range v {
				if m, ok := item.(map[string]any); ok {
					refs = append(refs, fileKeys(m, fmt.Sprintf("%s[%d]", p, i))...)
				}
			}
		}
	}
	return refs
}

// renderedConfig returns the ConfigMap's config.yaml, parsed, with the paths the pod sees.
func (c *check) renderedConfig(t *testing.T) map[string]any {
	t.Helper()
	cm := one[*corev1.ConfigMap](t, c.r, "ConfigMap", fullname)
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data[path.Base(configPath)]), &tree); err != nil {
		t.Fatal(err)
	}
	return tree
}

func (c *check) secretWiring(t *testing.T) {
	tree := c.renderedConfig(t)
	spec := c.deployment.Spec.Template.Spec
	secretsMount := mountFor(t, c.container, "/etc/scim-gateway/secrets/x")
	secretVolume := volumeNamed(t, spec, secretsMount.Name)
	if secretVolume.Secret == nil {
		t.Fatalf("volume %s is not a Secret volume", secretVolume.Name)
	}
	wantSecret := fullname
	if existing, _ := c.value("secrets.existingSecret").(string); existing != "" {
		wantSecret = existing
	}
	if secretVolume.Secret.SecretName != wantSecret {
		t.Errorf("secret volume mounts %q, want %q", secretVolume.Secret.SecretName, wantSecret)
	}
	if m := secretVolume.Secret.DefaultMode; m == nil || *m != 0o440 {
		t.Errorf("secret volume defaultMode %v, want 0440 (readable by fsGroup 65532, by no one else)", m)
	}
	if len(secretVolume.Secret.Items) > 0 {
		t.Errorf("secret volume lists items %v: a key added later (token rotation) would need a rollout", secretVolume.Secret.Items)
	}

	// Every ...File key in the secrets volume names a key of the Secret: with the chart's Secret, one
	// it holds (and it holds nothing else); with an existing one, a key the values configure.
	data := c.secretData()
	configured := map[string]bool{}
	for _, name := range []string{"adminToken", "upstreamClientSecret", "upstreamToken", "redisPassword", "redisSentinelPassword", "translationHashKey"} {
		configured[c.value("secrets."+name+".key").(string)] = true
	}
	for _, tok := range c.value("secrets.scimTokens").([]any) {
		tok := tok.(map[string]any)
		key, _ := tok["key"].(string)
		if key == "" {
			key = "scim-token-" + tok["name"].(string)
		}
		configured[key] = true
	}
	used := map[string]bool{}
	for _, ref := range fileKeys(tree, "") {
		mount := mountFor(t, c.container, ref.file)
		if mount.Name != secretsMount.Name {
			if strings.HasSuffix(ref.key, "caFile") || strings.HasSuffix(ref.key, "certFile") || strings.HasSuffix(ref.key, "keyFile") {
				continue // a TLS file from extraVolumes
			}
			if strings.HasPrefix(ref.key, "tenants[") {
				continue // a tenant's own Secret: the tenants check
			}
			t.Errorf("%s: %s is not in the secrets volume", ref.key, ref.file)
			continue
		}
		key := strings.TrimPrefix(ref.file, secretsMount.MountPath+"/")
		used[key] = true
		switch {
		case data != nil && len(data[key]) == 0:
			t.Errorf("%s: the Secret has no value under key %q", ref.key, key)
		case data == nil && !configured[key]:
			t.Errorf("%s: key %q is none of the keys configured under secrets", ref.key, key)
		}
	}
	for key := range data {
		if !used[key] {
			t.Errorf("the Secret holds %q but no ...File key uses it", key)
		}
	}

	// The names Entra's tokens show under in logs and metrics are the values' names.
	var wantNames, gotNames []string
	for _, tok := range c.value("secrets.scimTokens").([]any) {
		wantNames = append(wantNames, tok.(map[string]any)["name"].(string))
	}
	for _, tok := range c.loaded.Server.Tokens {
		gotNames = append(gotNames, tok.Name)
	}
	if !slices.Equal(gotNames, wantNames) {
		t.Errorf("server.tokens names %v, want %v", gotNames, wantNames)
	}
}

func (c *check) redis(t *testing.T) {
	bundled, _ := c.value("bundledRedis.enabled").(bool)
	deployments := all[*appsv1.Deployment](c.r, "Deployment")
	if !bundled {
		if len(deployments) != 1 {
			t.Errorf("%d Deployments without the bundled Redis", len(deployments))
		}
		return
	}
	d := one[*appsv1.Deployment](t, c.r, "Deployment", redisName)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("bundled Redis replicas %v, want 1", d.Spec.Replicas)
	}
	ctr := containerNamed(t, d.Spec.Template.Spec, "redis")
	if ctr.Image != "redis:7.4.2-alpine" {
		t.Errorf("bundled Redis image %q, want the pinned official redis:7.4.2-alpine", ctr.Image)
	}
	if save, aof := argAfter(ctr.Args, "--save"), argAfter(ctr.Args, "--appendonly"); save == nil || *save != "" || aof == nil || *aof != "no" {
		t.Errorf("bundled Redis args %q do not turn persistence off (--save \"\" --appendonly no)", ctr.Args)
	}
	data := volumeNamed(t, d.Spec.Template.Spec, mountFor(t, ctr, "/data/x").Name)
	if data.EmptyDir == nil {
		t.Errorf("bundled Redis /data is not an emptyDir")
	}
	if matches(d.Spec.Selector.MatchLabels, c.gatewayPodLabels()) || matches(c.deployment.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("the gateway's and Redis's selectors overlap")
	}
	svc := one[*corev1.Service](t, c.r, "Service", redisName)
	if !matches(svc.Spec.Selector, d.Spec.Template.Labels) || matches(svc.Spec.Selector, c.gatewayPodLabels()) {
		t.Errorf("Redis Service selector %v does not select exactly the Redis pods", svc.Spec.Selector)
	}
	if want := "redis://" + redisName + ":6379/0"; c.loaded.Store.Redis.URL != want {
		t.Errorf("store.redis.url %q, want %q", c.loaded.Store.Redis.URL, want)
	}
	if c.loaded.Store.Redis.Password != "" {
		if !slices.Contains(ctr.Args, "--requirepass") || !slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool {
			return e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
		}) {
			t.Errorf("the gateway has a Redis password but the bundled Redis does not require it")
		}
	}
}

// redisCredentials checks that each Redis password of secrets reaches its own key of the rendered
// config (redisPassword store.redis.passwordFile, redisSentinelPassword store.redis.sentinelPasswordFile)
// as the file of its Secret key, that the gateway loads the Secret's value from it, and that a password
// turned off leaves its key unset.
func (c *check) redisCredentials(t *testing.T) {
	store, _ := c.renderedConfig(t)["store"].(map[string]any)
	redisCfg, _ := store["redis"].(map[string]any)
	data := c.secretData()
	for _, p := range []struct {
		secret, fileKey string
		loaded          string // the value the gateway read from the file
	}{
		{"redisPassword", "passwordFile", c.loaded.Store.Redis.Password},
		{"redisSentinelPassword", "sentinelPasswordFile", c.loaded.Store.Redis.SentinelPassword},
	} {
		file, _ := redisCfg[p.fileKey].(string)
		if enabled, _ := c.value("secrets." + p.secret + ".enabled").(bool); !enabled {
			if file != "" || p.loaded != "" {
				t.Errorf("secrets.%s is off, yet store.redis.%s is %q", p.secret, p.fileKey, file)
			}
			continue
		}
		key, _ := c.value("secrets." + p.secret + ".key").(string)
		if want := "/etc/scim-gateway/secrets/" + key; file != want {
			t.Errorf("store.redis.%s is %q, want %q (secrets.%s.key)", p.fileKey, file, want, p.secret)
		}
		switch {
		case p.loaded == "":
			t.Errorf("secrets.%s: the gateway loads an empty password from %s", p.secret, file)
		case data != nil && p.loaded != string(data[key]):
			t.Errorf("secrets.%s: the gateway loads another value than the Secret's key %q", p.secret, key)
		}
	}
}

func (c *check) services(t *testing.T) {
	for _, s := range []struct{ name, port string }{{scimServiceName, "scim"}, {adminServiceName, "admin"}} {
		svc := one[*corev1.Service](t, c.r, "Service", s.name)
		if !matches(svc.Spec.Selector, c.gatewayPodLabels()) {
			t.Errorf("Service %s selector %v does not select the gateway pods", s.name, svc.Spec.Selector)
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != intstr.FromString(s.port) {
			t.Errorf("Service %s ports %+v, want one to the %s port", s.name, svc.Spec.Ports, s.port)
		}
	}
	if typ := one[*corev1.Service](t, c.r, "Service", adminServiceName).Spec.Type; typ != corev1.ServiceTypeClusterIP {
		t.Errorf("admin Service type %s, want ClusterIP", typ)
	}
}

func (c *check) testPod(t *testing.T) {
	pods := all[*corev1.Pod](c.r, "Pod")
	if len(pods) != 1 {
		t.Fatalf("%d Pods, want the helm test only", len(pods))
	}
	p := pods[0]
	if p.Annotations["helm.sh/hook"] != "test" {
		t.Errorf("Pod %s is not a helm test hook: %v", p.Name, p.Annotations)
	}
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever || len(p.Spec.Containers) != 1 {
		t.Fatalf("test Pod restartPolicy %s with %d containers", p.Spec.RestartPolicy, len(p.Spec.Containers))
	}
	ctr := p.Spec.Containers[0]
	admin := one[*corev1.Service](t, c.r, "Service", adminServiceName)
	wantURL := fmt.Sprintf("http://%s:%d/readyz", adminServiceName, admin.Spec.Ports[0].Port)
	if want := []string{"probe", "--url", wantURL}; !slices.Equal(ctr.Args, want) || len(ctr.Command) > 0 {
		t.Errorf("test command %q args %q, want the image's entrypoint with %q", ctr.Command, ctr.Args, want)
	}
	if ctr.Image != c.container.Image {
		t.Errorf("test image %q, gateway image %q", ctr.Image, c.container.Image)
	}
}

func (c *check) scaling(t *testing.T) {
	for _, pdb := range all[*policyv1.PodDisruptionBudget](c.r, "PodDisruptionBudget") {
		if pdb.Spec.Selector == nil || !matches(pdb.Spec.Selector.MatchLabels, c.gatewayPodLabels()) {
			t.Errorf("PodDisruptionBudget selector %v does not select the gateway pods", pdb.Spec.Selector)
		}
		if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
			t.Errorf("PodDisruptionBudget allows nothing")
		}
	}
	for _, hpa := range all[*autoscalingv2.HorizontalPodAutoscaler](c.r, "HorizontalPodAutoscaler") {
		ref := hpa.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.Name != fullname || ref.APIVersion != "apps/v1" {
			t.Errorf("HPA scales %+v, want Deployment %s", ref, fullname)
		}
		if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas > hpa.Spec.MaxReplicas {
			t.Errorf("HPA min %v max %d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
		}
	}
}

func (c *check) ingress(t *testing.T, tenantURL string) {
	ingresses := all[*networkingv1.Ingress](c.r, "Ingress")
	if tenantURL == "" {
		if len(ingresses) > 0 {
			t.Fatalf("an Ingress without ingress.enabled")
		}
		if !strings.Contains(c.r.notes, "No Ingress") {
			t.Errorf("NOTES.txt does not say that Entra cannot reach the gateway without an Ingress:\n%s", c.r.notes)
		}
		return
	}
	if !strings.Contains(c.r.notes, "     "+tenantURL+"\n") {
		t.Errorf("NOTES.txt does not print the Tenant URL %s:\n%s", tenantURL, c.r.notes)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(tenantURL, "https://"), "/scim/v2/")
	if want := "https://" + host; c.loaded.Server.PublicURL != want {
		t.Errorf("server.publicURL %q, want %q", c.loaded.Server.PublicURL, want)
	}
	// The gateway believes X-Forwarded-For from the configured proxies and the Ingress controller's pods.
	var wantProxies []string
	for _, k := range []string{"config.server.trustedProxies", "ingress.trustedProxies"} {
		if v, err := chartutil.Values(c.vals).PathValue(k); err == nil {
			for _, p := range v.([]any) {
				if !slices.Contains(wantProxies, p.(string)) {
					wantProxies = append(wantProxies, p.(string))
				}
			}
		}
	}
	if !slices.Equal(c.loaded.Server.TrustedProxies, wantProxies) {
		t.Errorf("server.trustedProxies %v, want %v (config.server and ingress.trustedProxies)", c.loaded.Server.TrustedProxies, wantProxies)
	}
	ing := ingresses[0]
	if len(ing.Spec.TLS) != 1 || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{host}) || ing.Spec.TLS[0].SecretName == "" {
		t.Errorf("Ingress TLS %+v, want %s with a certificate", ing.Spec.TLS, host)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != host || ing.Spec.Rules[0].HTTP == nil || len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("Ingress rules %+v, want one path on %s", ing.Spec.Rules, host)
	}
	p := ing.Spec.Rules[0].HTTP.Paths[0]
	if p.Path != "/scim" || p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
		t.Errorf("Ingress path %s (%v), want the SCIM routes only (/scim, Prefix)", p.Path, p.PathType)
	}
	svc := one[*corev1.Service](t, c.r, "Service", scimServiceName)
	if b := p.Backend.Service; b == nil || b.Name != scimServiceName || len(svc.Spec.Ports) != 1 || b.Port.Name != svc.Spec.Ports[0].Name ||
		svc.Spec.Ports[0].TargetPort != intstr.FromString("scim") {
		t.Errorf("Ingress backend %+v, want the SCIM port of Service %s (%+v)", p.Backend, scimServiceName, svc.Spec.Ports)
	}
}

func (c *check) serviceMonitor(t *testing.T) {
	for _, sm := range all[*serviceMonitor](c.r, "ServiceMonitor") {
		admin := one[*corev1.Service](t, c.r, "Service", adminServiceName)
		scim := one[*corev1.Service](t, c.r, "Service", scimServiceName)
		if !matches(sm.Spec.Selector.MatchLabels, admin.Labels) || matches(sm.Spec.Selector.MatchLabels, scim.Labels) {
			t.Errorf("ServiceMonitor selector %v does not select exactly the admin Service", sm.Spec.Selector.MatchLabels)
		}
		if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
			t.Errorf("ServiceMonitor namespaces %v", sm.Spec.NamespaceSelector.MatchNames)
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoints %+v, want /metrics on the admin port", sm.Spec.Endpoints)
		}
	}
}

func (c *check) networkPolicies(t *testing.T) {
	policies := all[*networkingv1.NetworkPolicy](c.r, "NetworkPolicy")
	if len(policies) == 0 {
		return
	}
	np := one[*networkingv1.NetworkPolicy](t, c.r, "NetworkPolicy", fullname)
	if !matches(np.Spec.PodSelector.MatchLabels, c.gatewayPodLabels()) {
		t.Errorf("NetworkPolicy selects %v, not the gateway pods", np.Spec.PodSelector.MatchLabels)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Errorf("policyTypes %v, want Ingress and Egress", np.Spec.PolicyTypes)
	}
	ingressPorts := map[string]bool{}
	for _, rule := range np.Spec.Ingress {
		if len(rule.From) == 0 {
			t.Errorf("an ingress rule from anywhere: %+v", rule)
		}
		for _, p := range rule.Ports {
			ingressPorts[p.Port.String()] = true
		}
	}
	if !ingressPorts["scim"] || !ingressPorts["admin"] || len(ingressPorts) != 2 {
		t.Errorf("ingress ports %v, want scim and admin only", ingressPorts)
	}
	var dns, portal, redis bool
	for _, rule := range np.Spec.Egress {
		if len(rule.To) == 0 {
			t.Errorf("an egress rule to anywhere: %+v", rule)
		}
		for _, p := range rule.Ports {
			switch {
			case p.Port.String() == "53":
				dns = true
			case p.Port.String() == "6379":
				redis = true
			}
		}
		for _, peer := range rule.To {
			if peer.IPBlock != nil && peer.IPBlock.CIDR == "10.20.0.0/16" {
				portal = true
			}
		}
	}
	if !dns || !portal {
		t.Errorf("egress DNS %v portal %v, want both", dns, portal)
	}
	if c.loaded.Store.Redis.URL != "" && !redis {
		t.Errorf("no egress to Redis")
	}
	if bundled, _ := c.value("bundledRedis.enabled").(bool); bundled {
		rp := one[*networkingv1.NetworkPolicy](t, c.r, "NetworkPolicy", redisName)
		redisPods := one[*appsv1.Deployment](t, c.r, "Deployment", redisName).Spec.Template.Labels
		if !matches(rp.Spec.PodSelector.MatchLabels, redisPods) || len(rp.Spec.Egress) > 0 || len(rp.Spec.Ingress) != 1 ||
			len(rp.Spec.Ingress[0].From) != 1 || rp.Spec.Ingress[0].From[0].PodSelector == nil ||
			!matches(rp.Spec.Ingress[0].From[0].PodSelector.MatchLabels, c.gatewayPodLabels()) {
			t.Errorf("the bundled Redis's NetworkPolicy does not admit the gateway pods only: %+v", rp.Spec)
		}
	}
}

// argAfter returns the argument that follows flag, or nil.
func argAfter(args []string, flag string) *string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return nil
	}
	return &args[i+1]
}

// matches reports whether every label of selector is in labels (a non-empty selector).
func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func containerNamed(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

func volumeNamed(t *testing.T, spec corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %q", name)
	return corev1.Volume{}
}

// mountFor returns the container's volume mount that holds file (the deepest one).
func mountFor(t *testing.T, ctr corev1.Container, file string) corev1.VolumeMount {
	t.Helper()
	var best corev1.VolumeMount
	for _, m := range ctr.VolumeMounts {
		if strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") && len(m.MountPath) > len(best.MountPath) {
			best = m
		}
	}
	if best.Name == "" {
		t.Fatalf("%s is in no volume mounted into container %s", file, ctr.Name)
	}
	return best
}

// port returns the port of a listen address.
func port(t *testing.T, listen string) string {
	t.Helper()
	i := strings.LastIndexByte(listen, ':')
	if i < 0 {
		t.Fatalf("listen address %q has no port", listen)
	}
	return listen[i+1:]
}

// TestRedisSentinelPasswordKeys checks the ways to give the sentinels' password beyond
// ci/sentinel-values.yaml (its own key in the chart's Secret): the Redis password's key shared (as
// Bitnami's Redis chart does with auth.sentinel), and an existing Secret, with its own key or the shared
// one. The gateway must load the rendered config and each password must come from its key.
func TestRedisSentinelPasswordKeys(t *testing.T) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	base := readValues(t, "ci/sentinel-values.yaml")
	tests := []struct {
		name       string
		overrides  string
		wantShared bool // both passwords from the one Secret key redis-password
	}{
		{"the Redis password's key, value empty", "secrets: {redisSentinelPassword: {key: redis-password, value: ''}}", true},
		{"the Redis password's key, same value", "secrets: {redisSentinelPassword: {key: redis-password, value: ci-redis-password}}", true},
		{"an existing Secret, a key of its own", "secrets: {existingSecret: redis-credentials, redisSentinelPassword: {key: sentinel-password}}", false},
		{"an existing Secret, the Redis password's key", "secrets: {existingSecret: redis-credentials, redisSentinelPassword: {key: redis-password}}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := withOverrides(base, parseValues(t, tt.overrides))
			r, err := render(t, vals, renderOptions{})
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			coalesced, err := chartutil.CoalesceValues(chrt, vals)
			if err != nil {
				t.Fatal(err)
			}
			c := &check{t: t, r: r, vals: coalesced}
			c.deployment = one[*appsv1.Deployment](t, r, "Deployment", fullname)
			c.container = containerNamed(t, c.deployment.Spec.Template.Spec, gatewayContainer)
			c.loaded = c.loadConfig()
			t.Run("secret wiring", c.secretWiring)
			t.Run("redis credentials", c.redisCredentials)

			redis := c.loaded.Store.Redis
			if shared := redis.SentinelPassword == redis.Password; shared != tt.wantShared {
				t.Errorf("the sentinels' password equals the master's: %v, want %v", shared, tt.wantShared)
			}
			if data := c.secretData(); data != nil {
				if _, ok := data["redis-sentinel-password"]; ok == tt.wantShared {
					t.Errorf("the chart's Secret has a redis-sentinel-password entry: %v, want %v", ok, !tt.wantShared)
				}
			}
		})
	}
}

// TestPodTemplateOnlyChangesForRestartKeys checks the chart's answer to live reload: a change the gateway
// applies live (log level, an endpoint switch, a second SCIM token during a rotation, the portal URL)
// leaves the pod template as it was, so Kubernetes starts no rollout; a change to a key the gateway
// reads only at start (server timeouts, the store) changes it, through the restart-only checksum.
func TestPodTemplateOnlyChangesForRestartKeys(t *testing.T) {
	base := readValues(t, "ci/defaults-values.yaml")
	template := func(t *testing.T, overrides string) corev1.PodTemplateSpec {
		t.Helper()
		vals := base
		if overrides != "" {
			vals = withOverrides(base, parseValues(t, overrides))
		}
		r, err := render(t, vals, renderOptions{})
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		return one[*appsv1.Deployment](t, r, "Deployment", fullname).Spec.Template
	}
	before := template(t, "")
	tests := []struct {
		name      string
		overrides string
		rollout   bool
	}{
		{"log level", "config: {logging: {level: debug}}", false},
		{"an endpoint switched off", "config: {upstream: {endpoints: {deleteUser: {enabled: false}}}}", false},
		{"the portal URL", "config: {upstream: {baseURL: 'https://portal2.example.com/portal'}}", false},
		{"a second SCIM token", "secrets: {scimTokens: [{name: entra, value: ci-scim-token-entra-0123456789}, {name: entra-next, value: ci-scim-token-entra-next-0123456789}]}", false},
		{"the Redis URL", "config: {store: {redis: {url: 'redis://other:6379/0'}}}", true},
		{"the Redis mapping TTL", "config: {store: {redis: {mappingTTL: 1h}}}", true},
		{"the server read timeout", "config: {server: {readTimeout: 45s}}", true},
		{"the OTLP endpoint", "config: {telemetry: {otlp: {endpoint: 'http://otel-collector:4318'}}}", true},
		{"the fleet-wide lease", "config: {upstream: {globalLease: 20s}}", true},
		{"the fleet-wide bound", "config: {upstream: {globalMaxInFlight: 30}}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := template(t, tt.overrides)
			changed := !reflect.DeepEqual(before, after)
			if changed != tt.rollout {
				t.Fatalf("pod template changed: %v, want %v\nbefore annotations %v\nafter annotations %v",
					changed, tt.rollout, before.Annotations, after.Annotations)
			}
		})
	}
}

// tenants checks each tenant of the values: its Secrets mounted whole as directories, its token and
// client secret read from them, its config blocks rendered and inherited as the gateway loads them.
func (c *check) tenants(t *testing.T) {
	vals, _ := c.vals["tenants"].([]any)
	if len(c.loaded.Tenants) != len(vals) {
		t.Fatalf("the gateway loads %d tenants, the values have %d", len(c.loaded.Tenants), len(vals))
	}
	spec := c.deployment.Spec.Template.Spec
	for i, v := range vals {
		tv := v.(map[string]any)
		name := tv["name"].(string)
		got := c.loaded.Tenants[i]
		if got.Name != name || len(got.Tokens) != 1 || got.Tokens[0].Value == "" {
			t.Errorf("tenant %d loaded as %+v", i, got)
		}
		mounts := map[string]string{"token": tv["scimToken"].(map[string]any)["secretName"].(string)}
		if cs, ok := tv["clientSecret"].(map[string]any); ok {
			mounts["client-secret"] = cs["secretName"].(string)
			if got.Upstream.Auth.ClientSecret == "" || got.Upstream.Auth.ClientSecret == c.loaded.Upstream.Auth.ClientSecret {
				t.Errorf("tenant %s: client secret %q not its own", name, got.Upstream.Auth.ClientSecret)
			}
		} else if !reflect.DeepEqual(got.Upstream.Auth, c.loaded.Upstream.Auth) {
			t.Errorf("tenant %s without a client secret of its own: auth %+v, want the top level's", name, got.Upstream.Auth)
		}
		for dir, secret := range mounts {
			m := mountFor(t, c.container, "/etc/scim-gateway/tenants/"+name+"/"+dir+"/x")
			vol := volumeNamed(t, spec, m.Name)
			if vol.Secret == nil || vol.Secret.SecretName != secret || len(vol.Secret.Items) != 0 || m.SubPath != "" {
				t.Errorf("tenant %s %s: volume %+v, mount %+v", name, dir, vol, m)
			}
		}
	}
	if len(vals) == 2 { // ci/tenants-values.yaml
		fab, tail := c.loaded.Tenants[0], c.loaded.Tenants[1]
		if fab.Upstream.BaseURL != "https://portal.fabrikam.example.com/portal" || fab.Deprovision.OnDelete != "delete" ||
			fab.Upstream.Timeout != c.loaded.Upstream.Timeout {
			t.Errorf("fabrikam = %+v", fab)
		}
		if tail.Upstream.BaseURL != c.loaded.Upstream.BaseURL || tail.Upstream.Endpoints["deleteUser"].IsEnabled() || !tail.DryRun {
			t.Errorf("tailspin = %+v", tail)
		}
	}
}
