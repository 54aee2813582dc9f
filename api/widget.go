package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/web"
)

// The checkout widget (web/static/widget.js) runs on a merchant's own
// site. It starts a checkout from a payment link with the merchant's
// publishable key (POST /v1/payment-links/{id}/checkouts, the one route
// such a key may call) and frames the hosted page in embed mode
// (/pay/{id}?embed=1&origin=<the site's origin>), which the hosted page
// allows only for the origins in the merchant's allowed_origins setting
// of the checkout's mode. Payment state in the page's messages is a hint
// for the customer's screen; the merchant's server learns it from the
// webhook or GET /v1/checkouts/{id}.

// Widget script paths: the current script, five minutes in caches, and
// version 1, cached for a year and changed only in backward-compatible
// ways, with its Subresource Integrity value beside it.
const (
	widgetPath    = "/widget.js"
	widgetV1Path  = "/widget/v1.js"
	widgetSRIPath = "/widget/v1.js.sri"
)

// widgetCheckoutPath is the route a publishable key may call.
const widgetCheckoutPath = "/v1/payment-links/:id/checkouts"

// widgetRoutes adds the widget's script and its checkout route; the
// script needs the hosted pages, the route the catalog.
func (s *Server) widgetRoutes() {
	e := s.echo
	if s.web != nil {
		e.GET(widgetPath, s.widgetScript)
		e.GET(widgetV1Path, s.widgetScript)
		e.GET(widgetSRIPath, s.widgetSRI)
	}
	if s.catalog != nil {
		e.POST(widgetCheckoutPath, s.widgetCheckout, bodyLimit(s.cfg.MaxBodyBytes), s.authenticatePublishable, s.idempotent)
		e.OPTIONS(widgetCheckoutPath, s.widgetPreflight)
	}
}

// widgetCheckoutResponse is what the widget needs of the checkout it
// started: its id and the hosted page. The rest is the merchant's to read
// with its secret key.
type widgetCheckoutResponse struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// widgetCheckout opens a checkout from one of the key's merchant's payment
// links of the key's mode, as a visit to the link's /l/ address would:
// the link must be active and not used up, and the visitor's address is
// rate limited per link. A browser's Origin must be one of the merchant's
// allowed origins (403 origin_not_allowed), and only then may it read the
// answer (Access-Control-Allow-Origin). A request without Origin comes
// from no browser page and passes: the publishable key is public anyway,
// and the link's own limits apply.
func (s *Server) widgetCheckout(c echo.Context) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	l, err := s.catalog.Link(ctx, p, c.Param("id"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Add("Vary", "Origin")
	if origin := c.Request().Header.Get("Origin"); origin != "" {
		m, err := s.merchants.Get(ctx, p.MerchantID)
		if err != nil {
			return err
		}
		if !m.SettingsFor(p.Livemode).AllowsOrigin(origin) {
			return sg.Errorf(sg.EFORBIDDEN, "origin_not_allowed", "Origin",
				"%s is not in the merchant's settings.allowed_origins", origin)
		}
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if retry, err := s.catalog.AllowOpen(ctx, l.Slug, c.RealIP()); err != nil {
		if sg.IsCode(err, sg.ERATELIMITED) {
			h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(retry))))
		}
		return err
	}
	co, err := s.catalog.Open(ctx, l.Slug)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, widgetCheckoutResponse{ID: co.ID, URL: s.publicURL(c) + "/pay/" + co.ID})
}

// widgetPreflight answers the browser's CORS preflight of the widget's
// checkout route. It cannot know the merchant (a preflight carries no
// key), so it lets any origin send; the route itself decides who may read
// the answer.
func (s *Server) widgetPreflight(c echo.Context) error {
	h := c.Response().Header()
	h.Add("Vary", "Origin")
	if origin := c.Request().Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
		h.Set("Access-Control-Max-Age", "600")
	}
	return c.NoContent(http.StatusNoContent)
}

// widgetScript serves the widget: a year's immutable caching under its
// versioned path, five minutes under the plain one. Any site may load it,
// with Subresource Integrity too, which needs CORS.
func (s *Server) widgetScript(c echo.Context) error {
	a, ok := s.web.Asset(web.WidgetFile)
	if !ok {
		return sg.Errorf(sg.ENOTFOUND, "resource_missing", "", "no widget script")
	}
	h := c.Response().Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	return serveAsset(c, a, c.Path() == widgetV1Path)
}

// widgetSRI answers the integrity value of /widget/v1.js ("sha384-..."),
// for a <script integrity> attribute.
func (s *Server) widgetSRI(c echo.Context) error {
	a, ok := s.web.Asset(web.WidgetFile)
	if !ok {
		return sg.Errorf(sg.ENOTFOUND, "resource_missing", "", "no widget script")
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(a.Integrity+"\n"))
}

// embedOrigin returns the origin that embeds the hosted page of pg, from
// ?embed=1&origin=, when that origin is one of the merchant's allowed
// origins for the checkout's mode; "" otherwise, and the page then stays
// unframeable. For an allowed origin it lets exactly that origin frame
// the response (CSP frame-ancestors; X-Frame-Options cannot name an
// origin, so it is dropped).
func embedOrigin(c echo.Context, pg *checkout.PublicPage) string {
	if c.QueryParam("embed") != "1" || pg == nil {
		return ""
	}
	origin := c.QueryParam("origin")
	allowed := false
	for _, o := range pg.AllowedOrigins {
		allowed = allowed || (origin != "" && o == origin)
	}
	if !allowed {
		return ""
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", pageCSP(origin))
	h.Del("X-Frame-Options")
	return origin
}
