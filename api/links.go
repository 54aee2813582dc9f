package api

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/catalog"
	"github.com/stablegate/stablegate/web"
)

// Public payment link routes, outside /v1 and without authentication:
// /l/:slug opens a fresh checkout for each visitor and sends them to its
// hosted page; /l/:slug/qr.png and qr.svg are QR codes of the link.

// linkCSP is the Content-Security-Policy of a link's HTML page: the hosted
// page's stylesheet, a merchant logo or product image over https, and no
// script at all.
const linkCSP = "default-src 'none'; style-src 'self'; img-src 'self' https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// qrSVGCSP lets an SVG opened on its own render and do nothing else.
const qrSVGCSP = "default-src 'none'; style-src 'unsafe-inline'"

// Bounds of a link's PNG QR code, in pixels.
const (
	defaultQRSize = 512
	minQRSize     = 128
	maxQRSize     = 2048
)

// previewAgents are substrings (lower case) of the user agents of
// link-preview bots of chat apps and social networks: they fetch a link
// as soon as it is pasted, and must not open checkouts (and reserve
// fingerprinted amounts) that nobody will pay.
var previewAgents = []string{
	"facebookexternalhit", "facebot", "twitterbot", "slackbot", "slack-imgproxy", "discordbot",
	"telegrambot", "whatsapp", "linkedinbot", "skypeuripreview", "microsoftpreview",
	"applebot", "googlebot", "google-inspectiontool", "bingbot", "pinterest", "redditbot", "embedly",
	"iframely", "vkshare", "mattermost", "zulip", "viber", "snapchat", "kakaotalk-scrap",
	"yandexbot", "duckduckbot", "baiduspider", "bytespider", "petalbot", "semrushbot", "ahrefsbot",
	"mastodon", "bluesky", "cardyb", "preview",
}

// isPreview reports whether a request should see what a link sells rather
// than open a checkout: a HEAD request, or a known link-preview bot.
func isPreview(r *http.Request) bool {
	if r.Method == http.MethodHead {
		return true
	}
	// A browser fetching ahead of a click (prefetch, prerender) is no
	// visitor yet.
	if strings.Contains(r.Header.Get("Sec-Purpose"), "prefetch") || r.Header.Get("Purpose") == "prefetch" || r.Header.Get("X-Moz") == "prefetch" {
		return true
	}
	ua := strings.ToLower(r.UserAgent())
	for _, a := range previewAgents {
		if strings.Contains(ua, a) {
			return true
		}
	}
	return false
}

// linkRoutes adds the public payment link routes; without a catalog
// service there are none.
func (s *Server) linkRoutes() {
	if s.catalog == nil {
		return
	}
	e := s.echo
	e.GET("/l/:slug", s.openLink)
	e.HEAD("/l/:slug", s.openLink)
	e.GET("/l/:slug/qr.png", s.linkQRPNG)
	e.GET("/l/:slug/qr.svg", s.linkQRSVG)
}

// openLink opens a fresh checkout for the visitor and sends them to its
// hosted page with 303 See Other. A preview (HEAD, or a link-preview bot)
// gets a page saying what the link sells and opens nothing; a link that
// cannot open answers a page saying why: 404 unknown, 410 inactive or
// used up, 429 opened too often from the visitor's address, 503 when no
// checkout could be created just now.
func (s *Server) openLink(c echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", linkCSP)
	ctx := c.Request().Context()
	slug := c.Param("slug")
	if isPreview(c.Request()) {
		it, err := s.catalog.Page(ctx, slug)
		if err != nil {
			return s.linkUnavailable(c, slug, nil, err)
		}
		if err := it.Available(); err != nil {
			return s.linkUnavailable(c, slug, it, err)
		}
		return s.renderLink(c, http.StatusOK, web.LinkPreview, it)
	}
	if retry, err := s.catalog.AllowOpen(ctx, slug, c.RealIP()); err != nil {
		if sg.IsCode(err, sg.ERATELIMITED) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(retry))))
		}
		return s.linkUnavailable(c, slug, nil, err)
	}
	co, err := s.catalog.Open(ctx, slug)
	if err != nil {
		return s.linkUnavailable(c, slug, nil, err)
	}
	to := "/pay/" + co.ID
	if lang := c.QueryParam("lang"); lang != "" {
		to += "?lang=" + url.QueryEscape(lang)
	}
	http.Redirect(c.Response(), c.Request(), to, http.StatusSeeOther)
	return nil
}

// linkUnavailable answers the page of a link that opens no checkout
// because of err. it, when known, names the merchant; otherwise it is
// looked up for the pages that show the merchant.
func (s *Server) linkUnavailable(c echo.Context, slug string, it *catalog.Item, err error) error {
	status, reason := http.StatusServiceUnavailable, web.LinkUnavailable
	e := sg.ErrorOf(err)
	switch {
	case e != nil && e.Code == sg.ENOTFOUND:
		status, reason, it = http.StatusNotFound, web.LinkNotFound, nil
	case e != nil && e.Reason == "link_inactive":
		status, reason = http.StatusGone, web.LinkInactive
	case e != nil && e.Reason == "link_exhausted":
		status, reason = http.StatusGone, web.LinkExhausted
	case e != nil && e.Code == sg.ERATELIMITED:
		status, reason = http.StatusTooManyRequests, web.LinkRateLimited
	case e != nil && e.Code != sg.EINTERNAL:
		// The merchant's setup refuses the checkout (a wallet deleted, every
		// fingerprinted amount of the price reserved): theirs to fix.
		s.log.Warn("payment link cannot open", "request_id", requestID(c), "slug", slug, "err", err)
	default:
		s.log.Error("payment link failed", "request_id", requestID(c), "slug", slug, "err", err)
		status = http.StatusInternalServerError
	}
	if it == nil && reason != web.LinkNotFound && reason != web.LinkRateLimited {
		it, _ = s.catalog.Page(c.Request().Context(), slug) // only to name the merchant
	}
	return s.renderLink(c, status, reason, it)
}

// renderLink writes a link page; it may be nil for a link not found.
func (s *Server) renderLink(c echo.Context, status int, reason web.LinkReason, it *catalog.Item) error {
	d := web.LinkPage{Reason: reason}
	if it != nil {
		d.Item, d.Price, d.Currency, d.URL = it.Description, it.Price, it.Link.Currency, s.linkURL(c, it.Link.Slug)
		if it.Product != nil {
			d.ImageURL = it.Product.ImageURL
		}
		if m := it.Merchant; m != nil {
			d.MerchantName, d.LogoURL, d.SupportEmail = m.Name, m.Branding.LogoURL, m.Branding.SupportEmail
		}
	}
	var b bytes.Buffer
	if err := web.RenderLinkUnavailable(&b, d); err != nil {
		return err
	}
	return c.HTMLBlob(status, b.Bytes())
}

// linkQR returns the text to encode for the link of the request: its
// public URL. Links that cannot open now still have a QR code, so a
// printed one works again once the merchant reopens the link.
func (s *Server) linkQR(c echo.Context) (string, error) {
	it, err := s.catalog.Page(c.Request().Context(), c.Param("slug"))
	if err != nil {
		return "", err
	}
	return s.linkURL(c, it.Link.Slug), nil
}

// qrHeaders let caches keep a QR code a few minutes: it only changes with
// the public URL.
func qrHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
}

func (s *Server) linkQRPNG(c echo.Context) error {
	size := defaultQRSize
	if v := c.QueryParam("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minQRSize || n > maxQRSize {
			return sg.Errorf(sg.EINVALID, "size_invalid", "size", "size must be an integer from %d to %d", minQRSize, maxQRSize)
		}
		size = n
	}
	text, err := s.linkQR(c)
	if err != nil {
		return err
	}
	png, err := web.QRPNG(text, size)
	if err != nil {
		return err
	}
	qrHeaders(c)
	return c.Blob(http.StatusOK, "image/png", png)
}

func (s *Server) linkQRSVG(c echo.Context) error {
	text, err := s.linkQR(c)
	if err != nil {
		return err
	}
	svg, err := web.QRSVG(text)
	if err != nil {
		return err
	}
	qrHeaders(c)
	c.Response().Header().Set("Content-Security-Policy", qrSVGCSP)
	return c.Blob(http.StatusOK, "image/svg+xml", svg)
}
