package web_test

import (
	"bytes"
	"html/template"
	"regexp"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/web"
)

func TestRenderLinkUnavailable(t *testing.T) {
	t.Parallel()
	shop := web.LinkPage{MerchantName: "Acme <Shop>", LogoURL: "https://cdn.acme.example/logo.png", SupportEmail: "help@acme.example"}
	for _, tc := range []struct {
		reason web.LinkReason
		page   web.LinkPage
		want   []string
	}{
		{web.LinkNotFound, web.LinkPage{}, []string{"<h1>Payment link not found</h1>", `data-testid="link-not_found"`}},
		{web.LinkInactive, shop, []string{"<h1>This payment link is closed</h1>", `href="mailto:help@acme.example"`, "Acme &lt;Shop&gt;", `<img class="logo" src="https://cdn.acme.example/logo.png"`}},
		{web.LinkExhausted, shop, []string{"<h1>This payment link has been used up</h1>"}},
		{web.LinkRateLimited, web.LinkPage{}, []string{"<h1>Too many visits</h1>"}},
		{web.LinkUnavailable, shop, []string{"<h1>This payment link is unavailable</h1>"}},
		{web.LinkPreview, web.LinkPage{MerchantName: "Acme", Item: "Tee × 2", Price: "50.00", Currency: "USD", URL: "https://pay.acme.example/l/tee", ImageURL: "https://cdn.acme.example/tee.png"},
			[]string{"<title>Tee × 2 · Acme</title>", `<meta property="og:title" content="Tee × 2 · Acme">`, `<meta property="og:url" content="https://pay.acme.example/l/tee">`,
				`<meta property="og:image" content="https://cdn.acme.example/tee.png">`, `<p class="price">50.00 USD</p>`, "Open this link in a web browser to pay."}},
	} {
		t.Run(string(tc.reason), func(t *testing.T) {
			d := tc.page
			d.Reason = tc.reason
			var b bytes.Buffer
			if err := web.RenderLinkUnavailable(&b, d); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			for _, w := range append(tc.want, `<link rel="stylesheet" href="/assets/pay.css">`, `<html lang="en">`) {
				if !strings.Contains(html, w) {
					t.Errorf("page lacks %s:\n%s", w, html)
				}
			}
			if tc.reason != web.LinkPreview && strings.Contains(html, "og:") {
				t.Errorf("a %s page carries Open Graph tags", tc.reason)
			}
			// Nothing that a CSP of default-src 'none'; style-src 'self'
			// would block.
			for _, bad := range []string{`<script`, `<style`, `\sstyle=`, `\son[a-z]+=`, `javascript:`} {
				if regexp.MustCompile(bad).MatchString(html) {
					t.Errorf("page carries %s:\n%s", bad, html)
				}
			}
			if n := len(regexp.MustCompile(`<h1>`).FindAllString(html, -1)); n != 1 {
				t.Errorf("%d headings", n)
			}
		})
	}
}

// TestLinkTemplateParsesWithThePages: the page templates are parsed as one
// set from templates/*.html, which includes link.html.
func TestLinkTemplateParsesWithThePages(t *testing.T) {
	t.Parallel()
	if _, err := template.New("").ParseGlob("templates/*.html"); err != nil {
		t.Fatal(err)
	}
}
