package api

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/web"
)

// Pages is the public checkout service behind the hosted payment page: a
// checkout found by its id alone, without an API key. Lookups return
// not_found for an unknown id.
type Pages interface {
	Page(ctx context.Context, id string, want *sg.PaymentMethod) (*checkout.PublicPage, error)
	View(ctx context.Context, id string) (*checkout.PublicView, error)
	// Allow counts a method choice of client and returns how long to wait
	// when it is over the limit, 0 when it may go ahead.
	Allow(ctx context.Context, client string) (time.Duration, error)
	// Select returns invalid "payment_method_not_accepted" for a method the
	// checkout does not accept and conflict "checkout_not_open" unless it
	// is open.
	Select(ctx context.Context, id string, pm sg.PaymentMethod) (*checkout.PublicView, error)
	// AllowTransaction counts a Solana transaction request of client, as
	// Allow counts method choices.
	AllowTransaction(ctx context.Context, client string) (time.Duration, error)
	// SolanaLabel returns not_found for an unknown checkout.
	SolanaLabel(ctx context.Context, id string) (*checkout.SolanaLabel, error)
	// SolanaTransaction returns invalid "parameter_missing" or
	// "account_invalid" for a bad account; not_found for an unknown
	// checkout; conflict "checkout_not_open", "payment_method_not_chosen",
	// "payment_method_not_solana" or "wallet_payment_unavailable" when the
	// checkout cannot be paid so. It changes nothing.
	SolanaTransaction(ctx context.Context, id string, want *sg.PaymentMethod, account string) (*checkout.SolanaTransaction, error)
}

var _ Pages = (*checkout.Public)(nil)

// FrameAncestors is the CSP frame-ancestors source list of the hosted
// pages: the one place that decides who may frame them. Only a page in
// the checkout widget's embed mode replaces it, with the one embedding
// origin the merchant allows (see embedOrigin).
const FrameAncestors = "'none'"

// Live status stream timing: how often the store is read, how often an
// idle stream sends a comment so proxies keep it open, and how long one
// stream lasts before the browser reconnects.
const (
	streamPoll      = time.Second
	streamHeartbeat = 15 * time.Second
	streamMax       = 10 * time.Minute
)

// pageCSP is the Content-Security-Policy of a hosted page response that
// the frame-ancestors source list ancestors may frame.
func pageCSP(ancestors string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors " + ancestors
}

// pageHeaders sets the security headers of the hosted pages, replacing the
// API's stricter CSP.
func pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", pageCSP(FrameAncestors))
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()")
		if FrameAncestors == "'none'" {
			h.Set("X-Frame-Options", "DENY")
		} else {
			h.Del("X-Frame-Options")
		}
		return next(c)
	}
}

func (s *Server) pageRoutes() {
	if s.pages == nil {
		return
	}
	if s.web == nil {
		s.web = web.MustNewPages()
	}
	e := s.echo
	e.GET("/pay/:id", s.payPage, pageHeaders)
	e.POST("/pay/:id/method", s.paySelect, pageHeaders, bodyLimit(16<<10))
	e.GET("/pay/:id/status", s.payStatus, pageHeaders)
	e.GET("/pay/:id/events", s.payEvents, pageHeaders)
	e.GET("/pay/:id/solana-transaction", s.paySolanaLabel, pageHeaders)
	e.POST("/pay/:id/solana-transaction", s.paySolanaTransaction, pageHeaders, bodyLimit(16<<10))
	e.GET("/assets/:file", s.asset)
}

func pageLang(c echo.Context) string {
	return web.Negotiate(c.QueryParam("lang"), c.Request().Header.Get("Accept-Language"))
}

// methodParam reads ?method=<chain>:<token>, the method a choice
// redirected back with; nil when absent or malformed.
func methodParam(v string) *sg.PaymentMethod {
	chain, token, ok := strings.Cut(v, ":")
	if !ok || chain == "" || token == "" {
		return nil
	}
	return &sg.PaymentMethod{Chain: chain, Token: token}
}

func (s *Server) payPage(c echo.Context) error {
	lang := pageLang(c)
	pg, err := s.pages.Page(c.Request().Context(), c.Param("id"), methodParam(c.QueryParam("method")))
	if err != nil {
		return s.pageError(c, lang, err)
	}
	return s.renderPay(c, http.StatusOK, web.PayData{Lang: lang, Page: pg})
}

// renderPay writes the payment page with status.
func (s *Server) renderPay(c echo.Context, status int, d web.PayData) error {
	d.Embed = embedOrigin(c, d.Page)
	var b bytes.Buffer
	if err := s.web.RenderPay(&b, d); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Language", d.Lang)
	h.Set("Vary", "Accept-Language")
	return c.HTMLBlob(status, b.Bytes())
}

// pageError answers a page request that failed: the friendly not-found
// page for an unknown checkout, the JSON error body otherwise.
func (s *Server) pageError(c echo.Context, lang string, err error) error {
	if !sg.IsCode(err, sg.ENOTFOUND) {
		return err
	}
	var b bytes.Buffer
	if rerr := s.web.RenderNotFound(&b, lang); rerr != nil {
		return rerr
	}
	c.Response().Header().Set("Content-Language", lang)
	return c.HTMLBlob(http.StatusNotFound, b.Bytes())
}

// isForm reports whether the request body is an HTML form.
func isForm(c echo.Context) bool {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	return mt == echo.MIMEApplicationForm || mt == echo.MIMEMultipartForm
}

// paySelect chooses a payment method for the customer: JSON {chain, token}
// answers the public view; a form (the page without JavaScript) answers a
// redirect back to the page, or the page with the error.
func (s *Server) paySelect(c echo.Context) error {
	form := isForm(c)
	var pm sg.PaymentMethod
	lang := pageLang(c)
	if form {
		pm = sg.PaymentMethod{Chain: c.FormValue("chain"), Token: c.FormValue("token")}
		lang = web.Negotiate(c.FormValue("lang"), c.Request().Header.Get("Accept-Language"))
	} else if err := decode(c, &pm); err != nil {
		return err
	}
	err := func() error {
		if pm.Chain == "" {
			return sg.Errorf(sg.EINVALID, "parameter_missing", "chain", "chain is required")
		}
		if pm.Token == "" {
			return sg.Errorf(sg.EINVALID, "parameter_missing", "token", "token is required")
		}
		wait, err := s.pages.Allow(c.Request().Context(), c.RealIP())
		if err != nil {
			return err
		}
		if wait > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(ceilSeconds(wait)))
			return sg.Errorf(sg.ERATELIMITED, "rate_limited", "", "too many payment method choices; retry after the Retry-After seconds")
		}
		return nil
	}()
	var v *checkout.PublicView
	if err == nil {
		v, err = s.pages.Select(c.Request().Context(), c.Param("id"), pm)
	}
	if !form {
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
	if err == nil {
		// Post/Redirect/Get: a reload shows the page, not a resubmission.
		q := url.Values{"lang": {lang}}
		if v.Method != nil {
			q.Set("method", v.Method.Chain+":"+v.Method.Token)
		}
		if c.QueryParam("embed") == "1" { // the widget's frame: the page checks origin again
			q.Set("embed", "1")
			q.Set("origin", c.QueryParam("origin"))
		}
		return c.Redirect(http.StatusSeeOther, "/pay/"+url.PathEscape(v.ID)+"?"+q.Encode())
	}
	status, e := s.classify(err)
	if status >= 500 {
		return err
	}
	pg, perr := s.pages.Page(c.Request().Context(), c.Param("id"), nil)
	if perr != nil {
		return s.pageError(c, lang, perr)
	}
	return s.renderPay(c, status, web.PayData{Lang: lang, Page: pg, Error: e.ReasonOrCode()})
}

// solanaTransactionRequest is the body of a Solana Pay transaction request.
type solanaTransactionRequest struct {
	Account string `json:"account"`
}

// transactionMethod reads the ?method=<chain>:<token> a transaction
// request URL names: nil when absent, an error when malformed.
func transactionMethod(c echo.Context) (*sg.PaymentMethod, error) {
	v := c.QueryParam("method")
	if v == "" {
		return nil, nil
	}
	pm := methodParam(v)
	if pm == nil {
		return nil, sg.Errorf(sg.EINVALID, "parameter_invalid", "method", "method must be <chain>:<token>")
	}
	return pm, nil
}

// paySolanaLabel answers a Solana Pay transaction request's GET: the
// merchant's name and logo, for the wallet to show.
func (s *Server) paySolanaLabel(c echo.Context) error {
	l, err := s.pages.SolanaLabel(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

// paySolanaTransaction answers a Solana Pay transaction request's POST:
// {"account": "<wallet>"} as JSON, or account=<wallet> as a form, gets the
// checkout's payment as an unsigned transaction for that wallet to sign.
// It is the page's "pay with wallet" on Solana, and works as well for any
// wallet that speaks Solana Pay.
func (s *Server) paySolanaTransaction(c echo.Context) error {
	want, err := transactionMethod(c)
	if err != nil {
		return err
	}
	var body solanaTransactionRequest
	if isForm(c) {
		body.Account = c.FormValue("account")
	} else if err := decode(c, &body); err != nil {
		return err
	}
	if body.Account == "" {
		return sg.Errorf(sg.EINVALID, "parameter_missing", "account", "account is required: the base58 public key of the paying wallet")
	}
	ctx := c.Request().Context()
	wait, err := s.pages.AllowTransaction(ctx, c.RealIP())
	if err != nil {
		return err
	}
	if wait > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(ceilSeconds(wait)))
		return sg.Errorf(sg.ERATELIMITED, "rate_limited", "", "too many payment transactions asked for; retry after the Retry-After seconds")
	}
	tx, err := s.pages.SolanaTransaction(ctx, c.Param("id"), want, body.Account)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tx)
}

func (s *Server) payStatus(c echo.Context) error {
	v, err := s.pages.View(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// payEvents streams the public view as Server-Sent Events: one event at
// once, then one on every change, read from the store every streamPoll,
// with a comment every streamHeartbeat. The stream ends when the checkout
// is final or after streamMax; the browser then reconnects by itself.
func (s *Server) payEvents(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	v, err := s.pages.View(ctx, id)
	if err != nil {
		return err
	}
	w := c.Response()
	// The server's write timeout is for ordinary requests; a stream ends
	// by itself after streamMax.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(streamMax + time.Minute))
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 3000\n\n")); err != nil {
		return nil
	}
	var last []byte
	send := func(v *checkout.PublicView) bool {
		b, err := sg.EncodeJSON(v)
		if err != nil {
			s.log.Error("encode checkout view", "request_id", requestID(c), "err", err)
			return false
		}
		if bytes.Equal(b, last) {
			return true
		}
		last = b
		if _, err := w.Write(append(append([]byte("data: "), b...), '\n', '\n')); err != nil {
			return false
		}
		w.Flush()
		return true
	}
	if !send(v) || v.Final {
		return nil
	}
	poll := time.NewTicker(streamPoll)
	defer poll.Stop()
	beat := time.NewTicker(streamHeartbeat)
	defer beat.Stop()
	end := time.NewTimer(streamMax)
	defer end.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end.C:
			return nil
		case <-beat.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
			w.Flush()
		case <-poll.C:
			v, err := s.pages.View(ctx, id)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("checkout stream", "request_id", requestID(c), "err", err)
				}
				if sg.IsCode(err, sg.ENOTFOUND) {
					return nil
				}
				continue
			}
			if !send(v) || v.Final {
				return nil
			}
		}
	}
}

// asset serves a static file: a year's immutable caching under its
// content-hashed name, five minutes under its plain name.
func (s *Server) asset(c echo.Context) error {
	a, ok := s.web.Asset(c.Param("file"))
	if !ok {
		return sg.Errorf(sg.ENOTFOUND, "resource_missing", "file", "no such file")
	}
	return serveAsset(c, a, a.Immutable)
}

// serveAsset answers an embedded file, cached for a year and immutable or
// for five minutes, revalidated by its ETag and gzipped when the client
// takes it.
func serveAsset(c echo.Context, a *web.Asset, immutable bool) error {
	h := c.Response().Header()
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	h.Set("ETag", a.ETag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.ETag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := a.Body
	if acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = a.Gzip
	}
	return c.Blob(http.StatusOK, a.ContentType, body)
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}
