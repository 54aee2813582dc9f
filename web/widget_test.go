package web_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"regexp"
	"testing"

	"github.com/stablegate/stablegate/web"
)

// maxWidgetGzip is the widget's size budget, gzipped: the issue promises
// merchants under 10 KB.
const maxWidgetGzip = 10 << 10

func TestWidgetSize(t *testing.T) {
	a, ok := web.MustNewPages().Asset(web.WidgetFile)
	if !ok {
		t.Fatal("no widget.js among the static files")
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
	if _, err := zw.Write(a.Body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Len() >= maxWidgetGzip || len(a.Gzip) >= maxWidgetGzip {
		t.Fatalf("widget.js is %d bytes gzipped (%d as served), the budget is under %d", b.Len(), len(a.Gzip), maxWidgetGzip)
	}
	t.Logf("widget.js: %d bytes, %d gzipped", len(a.Body), b.Len())
}

var readmeIntegrity = regexp.MustCompile(`integrity="(sha384-[A-Za-z0-9+/=]+)"`)

// TestREADMEWidgetIntegrity keeps the integrity value the README prints
// for /widget/v1.js true: changing the script fails here until the README
// shows its new hash.
func TestREADMEWidgetIntegrity(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := web.MustNewPages().Asset(web.WidgetFile)
	found := readmeIntegrity.FindAllSubmatch(readme, -1)
	if len(found) == 0 {
		t.Fatalf("README.md shows no integrity attribute for the widget; want integrity=%q", a.Integrity)
	}
	for _, m := range found {
		if string(m[1]) != a.Integrity {
			t.Errorf("README.md shows integrity %s, widget.js is %s", m[1], a.Integrity)
		}
	}
}

func TestIntegrity(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		// sha384("") and sha384("abc") (FIPS 180-2), as openssl dgst -sha384 -binary | base64 prints them.
		{"empty", "", "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"},
		{"abc", "abc", "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := web.Integrity([]byte(c.in)); got != c.want {
				t.Errorf("Integrity(%q) = %s, want %s", c.in, got, c.want)
			}
		})
	}
}
