package testenv

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChromium(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p id="x">static</p><script>document.getElementById("x").textContent = "ran"</script></body></html>`)
	}))
	defer srv.Close()
	if dom := ChromiumDOM(t, srv.URL); !strings.Contains(dom, `<p id="x">ran</p>`) {
		t.Errorf("DOM after load: %s", dom)
	}
	png := filepath.Join(t.TempDir(), "shot.png")
	ChromiumScreenshot(t, srv.URL, png, 400, 300)
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot: %v, %d bytes", err, len(b))
	}
}
