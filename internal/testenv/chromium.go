package testenv

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromiumArgs are the flags of a headless run as root in a container:
// no sandbox (it needs user namespaces), no GPU, a profile of its own.
func chromiumArgs(t testing.TB) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir=" + t.TempDir()}
}

// ChromiumDOM loads url in Debian's headless Chromium and returns the DOM
// once the page loaded (--dump-dom), as a browser shows it. The test is
// skipped (failed under CI) without chromium.
func ChromiumDOM(t testing.TB, url string) string {
	t.Helper()
	bin := LookPath(t, "chromium", "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(chromiumArgs(t), "--dump-dom", url)...).Output()
	if err != nil {
		t.Fatalf("testenv: chromium --dump-dom %s: %v", url, err)
	}
	return string(out)
}

// ChromiumScreenshot saves a PNG of url as headless Chromium renders it,
// in a window of width×height pixels, to path.
func ChromiumScreenshot(t testing.TB, url, path string, width, height int) {
	t.Helper()
	bin := LookPath(t, "chromium", "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append(chromiumArgs(t), "--hide-scrollbars", "--screenshot="+path,
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), url)
	if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("testenv: chromium --screenshot %s: %v\n%s", url, err, strings.TrimSpace(string(out)))
	}
}
