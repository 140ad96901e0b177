package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scim-gateway/scim-gateway/config"
)

// browserPath returns the headless Chromium the browser test drives. Without one the test is skipped,
// or fails when CI=true (CI installs Debian's chromium).
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH; CI must install it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH; skipping the browser test")
	return ""
}

// browser starts a headless Chromium with a window of width × height and returns its tab's context.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserPath(t)),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.WindowSize(width, height),
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// browse runs browser steps and fails the test, naming what, on an error.
func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is true in the page, and fails the test with what and
// the page's text after a generous deadline.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body.innerText"))
		t.Fatalf("waiting until %s: %v\npage:\n%s", what, err, text)
	}
}

// rowsJS is the list's rows, as an array of their SCIM ids and texts.
const rowsJS = `Array.from(document.querySelectorAll("#records tbody tr")).map(r => r.dataset.scimId + " " + r.innerText)`

// TestAdminUIInBrowser drives the translation-log page in a real headless Chromium against the real
// gateway and portal-sim: a wrong token shows an error and no data; signed in, a user created through
// SCIM appears without a reload; its record opens with the SCIM changes beside the portal calls
// (routes with the real ids); the filters narrow the list; a user's records link to each other; the
// strip shows /readyz's breaker and endpoint switches.
// UPDATE_SCREENSHOTS=1 also writes docs/admin-ui.png (1280 px) and docs/admin-ui-phone.png.
func TestAdminUIInBrowser(t *testing.T) {
	ctx := browser(t, 1280, 900)
	off := false // a maintenance window freezing deletes: the strip shows it
	e := newEnv(t, func(c *config.Config) {
		c.Upstream.Endpoints = map[string]config.Endpoint{config.OpDeleteUser: {Enabled: &off}}
	})
	first := e.scim(http.MethodPost, "/Users", entraCreate("first@contoso.com", "first-ext")).want(t, http.StatusCreated).str("id")
	e.scim(http.MethodPatch, "/Users/"+first, patchPrefix+`[{"op":"replace","path":"title","value":"Lead"}]}`).want(t, http.StatusNoContent)
	ui := "http://" + e.app.AdminAddr() + "/admin/ui/"

	// The shell loads without a token, and shows no record.
	browse(t, ctx, "opening the page", chromedp.Navigate(ui), chromedp.WaitVisible(chromedp.ID("token")))
	waitJS(t, ctx, "the state strip shows the breaker and the endpoint switched off",
		`document.getElementById("breaker").innerText === "breaker closed" && document.getElementById("endpoints").innerText.includes("deleteUser off")`)
	if n := eval[int](t, ctx, rowsJS+".length"); n != 0 {
		t.Fatalf("the page shows %d records before signing in", n)
	}

	// A wrong token: an error, and still no data.
	browse(t, ctx, "signing in with a wrong token",
		chromedp.SendKeys(chromedp.ID("token"), "not-the-admin-token"), chromedp.Click(chromedp.ID("signin-btn")))
	waitJS(t, ctx, "the refusal shows", `document.getElementById("message").innerText.includes("admin token was refused")`)
	if n := eval[int](t, ctx, rowsJS+".length"); n != 0 {
		t.Fatalf("a wrong token shows %d records", n)
	}
	if got := eval[string](t, ctx, `sessionStorage.getItem("scimgw.adminToken") || ""`); got != "" {
		t.Fatalf("a refused token stays in sessionStorage: %q", got)
	}

	// The right token: the records, newest first; the token in sessionStorage only.
	browse(t, ctx, "signing in", chromedp.SendKeys(chromedp.ID("token"), e2eAdminToken), chromedp.Click(chromedp.ID("signin-btn")))
	waitJS(t, ctx, "the two records show", rowsJS+`.length === 2`)
	if rows := eval[[]string](t, ctx, rowsJS); !strings.Contains(rows[0], "patch") || !strings.Contains(rows[1], "create") {
		t.Fatalf("records not newest first: %q", rows)
	}
	if got := eval[string](t, ctx, `document.getElementById("message").innerText`); got != "" {
		t.Fatalf("an error stays after signing in: %q", got)
	}

	// A user created now appears by itself: no navigation (the marker survives).
	eval[bool](t, ctx, `window.__noReload = true`)
	second := e.scim(http.MethodPost, "/Users", entraCreate("second@contoso.com", "second-ext")).want(t, http.StatusCreated).str("id")
	waitJS(t, ctx, "the new user's record appears", rowsJS+fmt.Sprintf(`.some(t => t.includes(%q))`, second))
	if !eval[bool](t, ctx, `window.__noReload === true`) {
		t.Fatal("the page reloaded to show the new record")
	}

	// Open it: the SCIM changes beside the portal calls, with the real ids in the routes.
	browse(t, ctx, "opening the record",
		chromedp.Click(chromedp.JSPath(fmt.Sprintf(`Array.from(document.querySelectorAll("#records tbody tr")).find(r => r.dataset.scimId === %q).cells[0]`, second))),
		chromedp.WaitVisible(chromedp.ID("detail")))
	detail := eval[string](t, ctx, `document.getElementById("detail").innerText`)
	for _, want := range []string{"create User", "created", "SCIM 201", "SCIM changes", "Portal calls", "POST", "title", "Engineer", second, "Copy JSON"} {
		if !strings.Contains(detail, want) {
			t.Fatalf("the opened record lacks %q:\n%s", want, detail)
		}
	}
	if strings.Contains(detail, "second@contoso.com") {
		t.Fatalf("the opened record shows the raw userName:\n%s", detail)
	}
	firstIDUser := e.portalUser("contoso.com", "first").IDUser
	waitJS(t, ctx, "the page is idle", `document.querySelectorAll("#records tbody tr").length === 3`)

	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		screenshot(t, ctx, filepath.Join("..", "..", "docs", "admin-ui.png"))
	}

	// A user's records link to each other: the SCIM id link filters on it.
	browse(t, ctx, "following the first user's link",
		chromedp.Click(chromedp.JSPath(fmt.Sprintf(`Array.from(document.querySelectorAll("#records a.user")).find(a => a.dataset.id === %q)`, first))))
	waitJS(t, ctx, "the first user's records only", rowsJS+fmt.Sprintf(`.length === 2 && %s.every(t => t.includes(%q))`, rowsJS, first))
	if got := eval[string](t, ctx, `document.querySelector("#filters [name=scimId]").value`); got != first {
		t.Fatalf("the SCIM id filter holds %q after following the link, want %s", got, first)
	}
	browse(t, ctx, "opening the PATCH",
		chromedp.Click(chromedp.JSPath(`Array.from(document.querySelectorAll("#records tbody tr")).find(r => r.innerText.includes("patch")).cells[0]`)),
		chromedp.WaitVisible(chromedp.ID("detail")))
	detail = eval[string](t, ctx, `document.getElementById("detail").innerText`)
	if want := fmt.Sprintf("(%d)", firstIDUser); !strings.Contains(detail, want) || !strings.Contains(detail, "PATCH") || !strings.Contains(detail, "Lead") {
		t.Fatalf("the PATCH record lacks its route with the real id %s, its PATCH call or its new title:\n%s", want, detail)
	}

	// Filters: operation and outcome, from the form.
	browse(t, ctx, "filtering on creates",
		chromedp.Reset(chromedp.ID("filters")))
	waitJS(t, ctx, "the filters cleared", rowsJS+`.length === 3`)
	browse(t, ctx, "filtering on creates",
		chromedp.SetValue(chromedp.CSS("#filters [name=op]"), "create"), chromedp.Click(chromedp.CSS("#filters button[type=submit]")))
	waitJS(t, ctx, "creates only", rowsJS+`.length === 2 && `+rowsJS+`.every(t => t.includes("create"))`)
	browse(t, ctx, "filtering on an outcome none has",
		chromedp.SetValue(chromedp.CSS("#filters [name=outcome]"), "conflict"), chromedp.Click(chromedp.CSS("#filters button[type=submit]")))
	waitJS(t, ctx, "no record and the empty notice", rowsJS+`.length === 0 && !document.getElementById("empty").hidden`)
	if !eval[bool](t, ctx, `window.__noReload === true`) {
		t.Fatal("filtering reloaded the page")
	}

	// Signing out forgets the records and the token.
	browse(t, ctx, "signing out", chromedp.Reset(chromedp.ID("filters")), chromedp.Click(chromedp.ID("signout")))
	waitJS(t, ctx, "no data after signing out", rowsJS+`.length === 0 && sessionStorage.getItem("scimgw.adminToken") === null`)

	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		phone(t, ui)
	}
}

// phone takes the screenshot of the page on a phone-sized screen, signed in, with a record open.
func phone(t *testing.T, ui string) {
	ctx := browser(t, 390, 844)
	browse(t, ctx, "opening the page on a phone", chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(ui), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), e2eAdminToken), chromedp.Click(chromedp.ID("signin-btn")))
	waitJS(t, ctx, "records on the phone", rowsJS+`.length === 3`)
	browse(t, ctx, "opening a record on the phone",
		chromedp.Click(chromedp.JSPath(`document.querySelector("#records tbody tr").cells[0]`)), chromedp.WaitVisible(chromedp.ID("detail")))
	screenshot(t, ctx, filepath.Join("..", "..", "docs", "admin-ui-phone.png"))
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
