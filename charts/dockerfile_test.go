package charts

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"go/version"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = ".."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int    // where it starts
	cmd  string // upper case: FROM, RUN, COPY...
	args string
}

// stage is one build stage: its FROM and the instructions after it.
type stage struct {
	image, name string
	instrs      []instruction
}

// find returns the index of the first instruction of cmd whose args contain substr, or -1.
func (s stage) find(cmd, substr string) int {
	return slices.IndexFunc(s.instrs, func(in instruction) bool { return in.cmd == cmd && strings.Contains(in.args, substr) })
}

// parseDockerfile reads the repository's Dockerfile into its parser directives and stages.
func parseDockerfile(t *testing.T) (directives map[string]string, stages []stage) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	directives = map[string]string{}
	directive := regexp.MustCompile(`^#\s*([a-z]+)=(\S+)$`)
	inPreamble := true
	var pending *instruction
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			if m := directive.FindStringSubmatch(line); inPreamble && m != nil {
				directives[m[1]] = m[2] // parser directives only open the file
			} else {
				inPreamble = false
			}
			continue
		}
		inPreamble = false
		if line == "" {
			continue
		}
		if pending == nil {
			cmd, args, _ := strings.Cut(line, " ")
			pending = &instruction{line: n, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		} else {
			pending.args += " " + line
		}
		if strings.HasSuffix(pending.args, `\`) {
			pending.args = strings.TrimSpace(strings.TrimSuffix(pending.args, `\`))
			continue
		}
		in := *pending
		pending = nil
		if in.cmd == "FROM" {
			fields := strings.Fields(in.args)
			s := stage{image: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a builder and a runtime", len(stages))
	}
	return directives, stages
}

// TestDockerfile checks the image rules that need no Docker engine: pinned bases, a cached module
// download step, a static trimmed build stamped with its version, a distroless runtime that runs as a
// numeric non-root user with only the gateway in it.
func TestDockerfile(t *testing.T) {
	directives, stages := parseDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]

	t.Run("BuildKit syntax for cache mounts", func(t *testing.T) {
		if got := directives["syntax"]; got != "docker/dockerfile:1" {
			t.Fatalf("syntax directive %q, want docker/dockerfile:1 (RUN --mount needs it)", got)
		}
	})

	t.Run("builder pinned to a Go release at least go.mod's", func(t *testing.T) {
		m := regexp.MustCompile(`^golang:(1\.\d+\.\d+)-[a-z]+$`).FindStringSubmatch(build.image)
		if m == nil || build.name == "" {
			t.Fatalf("builder FROM %q AS %q, want golang:<x.y.z>-<distribution> AS <name>", build.image, build.name)
		}
		goMod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		want := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(goMod)
		if want == nil {
			t.Fatal("go.mod has no go directive")
		}
		if version.Compare("go"+m[1], "go"+string(want[1])) < 0 {
			t.Fatalf("builder Go %s is older than go.mod's go %s", m[1], want[1])
		}
	})

	t.Run("runtime is distroless static nonroot, pinned", func(t *testing.T) {
		if !regexp.MustCompile(`^gcr\.io/distroless/static-debian\d+:nonroot(@sha256:[0-9a-f]{64})?$`).MatchString(final.image) {
			t.Fatalf("runtime FROM %q, want gcr.io/distroless/static-debianNN:nonroot", final.image)
		}
		for _, s := range stages {
			name, tag, _ := strings.Cut(strings.SplitN(s.image, "@", 2)[0], ":")
			if tag == "" || tag == "latest" || strings.Contains(name, "$") {
				t.Errorf("FROM %q is not pinned to a version tag", s.image)
			}
		}
	})

	t.Run("modules downloaded in their own cached step", func(t *testing.T) {
		copyMod := build.find("COPY", "go.mod go.sum")
		download := build.find("RUN", "go mod download")
		copyAll := build.find("COPY", ". .")
		if copyMod < 0 || download < 0 || copyAll < 0 || !(copyMod < download && download < copyAll) {
			t.Fatalf("want COPY go.mod go.sum, then RUN go mod download, then COPY . . (at %d, %d, %d)", copyMod, download, copyAll)
		}
		if !strings.Contains(build.instrs[download].args, "--mount=type=cache,target=/go/pkg/mod") {
			t.Fatalf("go mod download without a cache mount of /go/pkg/mod: %s", build.instrs[download].args)
		}
	})

	t.Run("static trimmed build stamped with its version", func(t *testing.T) {
		i := build.find("RUN", "go build")
		if i < 0 {
			t.Fatal("no RUN go build in the builder")
		}
		run := build.instrs[i].args
		for _, mount := range []string{"--mount=type=cache,target=/go/pkg/mod", "--mount=type=cache,target=/root/.cache/go-build"} {
			if !strings.Contains(run, mount) {
				t.Errorf("go build without %s", mount)
			}
		}
		env, args := goBuildCommand(t, run)
		if env["CGO_ENABLED"] != "0" {
			t.Errorf("go build without CGO_ENABLED=0: %s", run)
		}
		if !slices.Contains(args, "-trimpath") {
			t.Errorf("go build without -trimpath: %q", args)
		}
		if ld := flagValue(args, "-ldflags"); !strings.Contains(ld, "-X main.version=${VERSION}") {
			t.Errorf("-ldflags %q does not stamp main.version from ${VERSION}", ld)
		}
		if build.find("ARG", "VERSION") < 0 || build.find("ARG", "VERSION") > i {
			t.Errorf("no ARG VERSION before the go build")
		}
		if pkg := args[len(args)-1]; pkg != "./cmd/scim-gateway" {
			t.Errorf("go build builds %q, want ./cmd/scim-gateway only", pkg)
		}
	})

	t.Run("runtime holds the gateway only and runs it as 65532", func(t *testing.T) {
		var copies []string
		for _, in := range final.instrs {
			switch in.cmd {
			case "RUN":
				t.Errorf("RUN in the runtime stage (distroless has no shell): %s", in.args)
			case "ADD":
				t.Errorf("ADD in the runtime stage: %s", in.args)
			case "COPY":
				copies = append(copies, in.args)
			}
			if strings.Contains(in.args, "portal-sim") {
				t.Errorf("portal-sim in the runtime image: %s %s", in.cmd, in.args)
			}
		}
		i := build.find("RUN", "go build")
		if i < 0 {
			t.Fatal("no RUN go build in the builder")
		}
		out := flagValue(strings.Fields(build.instrs[i].args), "-o")
		if len(copies) != 1 || !strings.HasPrefix(copies[0], "--from="+build.name+" "+out+" ") {
			t.Fatalf("runtime COPY %q, want only the builder's %s", copies, out)
		}
		binary := strings.Fields(copies[0])[2]

		for _, cmd := range []string{"USER", "ENTRYPOINT", "EXPOSE"} {
			if final.find(cmd, "") < 0 {
				t.Fatalf("no %s in the runtime stage", cmd)
			}
		}
		user := final.instrs[final.find("USER", "")].args
		if user != "65532:65532" {
			t.Errorf("USER %q, want the numeric 65532:65532 (runAsNonRoot cannot check a name)", user)
		}
		var entrypoint, cmd []string
		if err := json.Unmarshal([]byte(final.instrs[final.find("ENTRYPOINT", "")].args), &entrypoint); err != nil || len(entrypoint) != 1 || entrypoint[0] != binary {
			t.Errorf("ENTRYPOINT %q is not the JSON form [%q] (err %v)", final.instrs[final.find("ENTRYPOINT", "")].args, binary, err)
		}
		if i := final.find("CMD", ""); i >= 0 {
			if err := json.Unmarshal([]byte(final.instrs[i].args), &cmd); err != nil || len(cmd) == 0 || cmd[0] != "serve" {
				t.Errorf("CMD %q is not the JSON form of serve (err %v)", final.instrs[i].args, err)
			}
		}
		exposed := strings.Fields(final.instrs[final.find("EXPOSE", "")].args)
		slices.Sort(exposed)
		if !slices.Equal(exposed, []string{"8080", "9090"}) {
			t.Errorf("EXPOSE %q, want 8080 9090", exposed)
		}
	})

	t.Run("dockerignore keeps what the build needs", func(t *testing.T) {
		ignore := readDockerignore(t)
		for _, p := range []string{".git/HEAD", "charts/scim-gateway/values.yaml", "docs/deploy.md", "config/load_test.go"} {
			if !ignore.excludes(p) {
				t.Errorf(".dockerignore does not exclude %s", p)
			}
		}
		for _, p := range buildInputs(t) {
			if ignore.excludes(p) {
				t.Errorf(".dockerignore excludes %s, which the build needs", p)
			}
		}
	})
}

// TestDockerfileBuild runs the Dockerfile's go build command, flags and environment as written (the
// version and output path substituted), and checks the binary: static, trimmed, stamped.
func TestDockerfileBuild(t *testing.T) {
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd", "scim-gateway")); os.IsNotExist(err) {
		t.Skip("cmd/scim-gateway does not exist yet")
	}
	if testing.Short() {
		t.Skip("builds the gateway; skipped with -short")
	}
	_, stages := parseDockerfile(t)
	build := stages[0]
	i := build.find("RUN", "go build")
	if i < 0 {
		t.Fatal("no RUN go build in the builder")
	}
	env, args := goBuildCommand(t, build.instrs[i].args)

	const stamp = "v0.0.0-dockerfile-test"
	binary := filepath.Join(t.TempDir(), "scim-gateway")
	for i, a := range args {
		args[i] = strings.NewReplacer("${VERSION}", stamp, "$VERSION", stamp).Replace(a)
		if i > 0 && args[i-1] == "-o" {
			args[i] = binary
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q, want 0 and true", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	if f, err := elf.Open(binary); err == nil {
		if f.Section(".interp") != nil {
			t.Errorf("the binary is dynamically linked (it has an ELF interpreter); distroless static has no libc")
		}
		f.Close()
	}
	out, err := exec.Command(binary, "version").Output()
	if err != nil {
		t.Fatalf("scim-gateway version: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != stamp {
		t.Fatalf("scim-gateway version printed %q, want the stamped %q", got, stamp)
	}
}

// goBuildCommand splits a RUN instruction's go build command into its environment assignments and the
// go command's arguments (from "build" on), unquoted as the shell would.
func goBuildCommand(t *testing.T, run string) (env map[string]string, args []string) {
	t.Helper()
	words := shellWords(t, run)
	env = map[string]string{}
	for len(words) > 0 && strings.HasPrefix(words[0], "--mount=") {
		words = words[1:]
	}
	for len(words) > 0 && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(words[0]) {
		k, v, _ := strings.Cut(words[0], "=")
		env[k] = v
		words = words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("RUN %q is not [VAR=value...] go build ...", run)
	}
	if slices.ContainsFunc(words, func(w string) bool { return w == "&&" || w == ";" || w == "|" }) {
		t.Fatalf("RUN %q chains commands; keep the go build alone so that this test runs it as written", run)
	}
	return env, words[1:]
}

// flagValue returns the value of a flag given as "-name value" or "-name=value".
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// shellWords splits a command line into words as a POSIX shell would for the simple commands a
// Dockerfile RUN uses: blanks separate words, single and double quotes group, a backslash escapes.
// Variables are left as written.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for i := 0; i < len(s); i++ {
		c := rune(s[i])
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(s) && strings.ContainsRune(`"\$`, rune(s[i+1])):
				i++
				cur.WriteByte(s[i])
			default:
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// dockerignore is a parsed .dockerignore: patterns in order, the last match deciding.
type dockerignore []struct {
	pattern *regexp.Regexp
	exclude bool
}

func readDockerignore(t *testing.T) dockerignore {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var d dockerignore
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		exclude := true
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			line, exclude = strings.TrimSpace(rest), false
		}
		line = strings.TrimPrefix(path.Clean(line), "/")
		d = append(d, struct {
			pattern *regexp.Regexp
			exclude bool
		}{globRegexp(line), exclude})
	}
	return d
}

// globRegexp turns a .dockerignore pattern into a regexp that matches a path or any path below it
// (Docker excludes a directory's contents with the directory): "**" spans directories, "*" and "?"
// stay within one.
func globRegexp(p string) *regexp.Regexp {
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**/"):
			re.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			re.WriteString(".*")
			i++
		case p[i] == '*':
			re.WriteString("[^/]*")
		case p[i] == '?':
			re.WriteString("[^/]")
		default:
			re.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	re.WriteString("(/.*)?$")
	return regexp.MustCompile(re.String())
}

// excludes reports whether the build context leaves out file (a slash path relative to the root).
func (d dockerignore) excludes(file string) bool {
	excluded := false
	for _, rule := range d {
		if rule.pattern.MatchString(file) {
			excluded = rule.exclude
		}
	}
	return excluded
}

// buildInputs lists the repository files `go build ./cmd/scim-gateway` reads: go.mod, go.sum and the
// Go and embedded files of every package of the module it imports (as slash paths from the root).
func buildInputs(t *testing.T) []string {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	if _, err := os.Stat(filepath.Join(root, "cmd", "scim-gateway")); os.IsNotExist(err) {
		return files
	}
	cmd := exec.Command("go", "list", "-e", "-deps", "-f",
		`{{if not .Standard}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`, "./cmd/scim-gateway")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		rel, err := filepath.Rel(root, fields[0])
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a dependency outside the module
		}
		for _, f := range fields[1:] {
			files = append(files, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	return files
}
