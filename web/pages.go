package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stablegate/stablegate/checkout"
)

var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed static
	staticFS embed.FS
	//go:embed i18n/*.json
	i18nFS embed.FS
)

// Static returns the static files (CSS, JS) by their plain names.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic("web: static files: " + err.Error())
	}
	return sub
}

// Language is a language the pages are translated into.
type Language struct {
	// Code is the BCP 47 tag used in ?lang= and the lang attribute.
	Code string
	// Name is the language's name in itself, for the switcher.
	Name string
}

// Languages lists the translations; the first is the default.
var Languages = []Language{{"en", "English"}, {"zh-CN", "简体中文"}, {"ja", "日本語"}}

// DefaultLanguage is used when nothing the customer accepts is translated.
const DefaultLanguage = "en"

// Negotiate picks the page language: a supported ?lang= value first, then
// the best Accept-Language entry by quality (ties in header order), then
// DefaultLanguage. Chinese means Simplified Chinese unless the tag names
// Traditional script or a region that writes it (TW, HK, MO).
func Negotiate(query, acceptLanguage string) string {
	for _, l := range Languages {
		if strings.EqualFold(query, l.Code) {
			return l.Code
		}
	}
	type entry struct {
		tag string
		q   int // thousandths
	}
	var entries []entry
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" || len(tag) > 35 {
			continue
		}
		q := 1000
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if q, ok = parseQuality(v); !ok {
				continue
			}
		}
		if q > 0 {
			entries = append(entries, entry{tag, q})
		}
		if len(entries) == 32 {
			break
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].q > entries[j].q })
	for _, e := range entries {
		if l := matchLanguage(e.tag); l != "" {
			return l
		}
	}
	return DefaultLanguage
}

// parseQuality parses an HTTP quality value ("1", "0.8", "0.125") into
// thousandths, the precision RFC 9110 allows.
func parseQuality(v string) (int, bool) {
	whole, frac, _ := strings.Cut(v, ".")
	if (whole != "0" && whole != "1") || len(frac) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < 3; i++ {
		n *= 10
		if i < len(frac) {
			if frac[i] < '0' || frac[i] > '9' {
				return 0, false
			}
			n += int(frac[i] - '0')
		}
	}
	if whole == "1" {
		if n != 0 {
			return 0, false
		}
		return 1000, true
	}
	return n, true
}

// matchLanguage maps one lower-case language tag to a translation, or "".
func matchLanguage(tag string) string {
	if tag == "*" {
		return DefaultLanguage
	}
	subtags := strings.Split(strings.ReplaceAll(tag, "_", "-"), "-")
	switch subtags[0] {
	case "en":
		return "en"
	case "ja":
		return "ja"
	case "zh":
		for _, s := range subtags[1:] {
			switch s {
			case "hant", "tw", "hk", "mo":
				return ""
			}
		}
		return "zh-CN"
	}
	return ""
}

// Asset is a static file ready to serve.
type Asset struct {
	// Name is the name it is served under.
	Name string
	// ContentType includes the charset of text files.
	ContentType string
	Body        []byte
	// Gzip is Body compressed, for clients that accept gzip.
	Gzip []byte
	// Immutable is true for a content-hashed name, whose bytes never
	// change, so it may be cached for a year.
	Immutable bool
	// ETag is a strong validator of Body.
	ETag string
	// Integrity is Body's Subresource Integrity value, "sha384-<base64>".
	Integrity string
}

// WidgetFile is the static file of the embeddable checkout widget, served
// at /widget.js and /widget/v1.js.
const WidgetFile = "widget.js"

// Pages renders the hosted payment page from embedded templates, message
// catalogs and static files. It is safe for concurrent use.
type Pages struct {
	tmpl   *template.Template
	msgs   map[string]map[string]string
	assets map[string]*Asset // by served name, hashed and plain
	paths  map[string]string // plain name -> "/assets/<hashed name>"
}

// NewPages parses the embedded templates and catalogs and fingerprints the
// static files. It fails only when the embedded files are broken.
func NewPages() (*Pages, error) {
	p := &Pages{msgs: map[string]map[string]string{}, assets: map[string]*Asset{}, paths: map[string]string{}}
	for _, l := range Languages {
		b, err := i18nFS.ReadFile("i18n/" + l.Code + ".json")
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", l.Code, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", l.Code, err)
		}
		p.msgs[l.Code] = m
	}
	err := fs.WalkDir(Static(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(Static(), name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct := mime.TypeByExtension(ext)
		switch ext {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		}
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = w.Write(body)
		_ = w.Close()
		etag := `"` + hex.EncodeToString(sum[:12]) + `"`
		sri := Integrity(body)
		p.assets[hashed] = &Asset{Name: hashed, ContentType: ct, Body: body, Gzip: gz.Bytes(), Immutable: true, ETag: etag, Integrity: sri}
		p.assets[name] = &Asset{Name: name, ContentType: ct, Body: body, Gzip: gz.Bytes(), ETag: etag, Integrity: sri}
		p.paths[name] = "/assets/" + hashed
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	tmpl, err := template.New("").ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	p.tmpl = tmpl
	return p, nil
}

// MustNewPages is NewPages for embedded files a test keeps valid.
func MustNewPages() *Pages {
	p, err := NewPages()
	if err != nil {
		panic("web: " + err.Error())
	}
	return p
}

// Asset returns the static file served under name (hashed or plain).
func (p *Pages) Asset(name string) (*Asset, bool) {
	a, ok := p.assets[name]
	return a, ok
}

// AssetPath returns the URL path of a static file's content-hashed name.
func (p *Pages) AssetPath(name string) string { return p.paths[name] }

// Messages returns the catalog of a language, for tests and tools.
func (p *Pages) Messages(lang string) map[string]string { return p.msgs[lang] }

// PayData is what the payment page shows.
type PayData struct {
	// Lang is a Languages code, from Negotiate.
	Lang string
	Page *checkout.PublicPage
	// Error is the reason code of a choice that failed ("rate_limited",
	// "checkout_not_open", ...), shown as a localized message; "" for none.
	Error string
	// Embed is the origin of the merchant's page that frames this one with
	// the checkout widget, already checked against the merchant's allowed
	// origins; the page's script posts its messages to exactly this
	// origin. "" for a page of its own.
	Embed string
}

// RenderPay writes the payment page.
func (p *Pages) RenderPay(w io.Writer, d PayData) error {
	m, err := p.payModel(d)
	if err != nil {
		return err
	}
	return p.tmpl.ExecuteTemplate(w, "pay.html", m)
}

// RenderNotFound writes the page for an unknown checkout.
func (p *Pages) RenderNotFound(w io.Writer, lang string) error {
	b := p.base(lang, "", nil)
	b.Title = b.T("not_found_title")
	return p.tmpl.ExecuteTemplate(w, "notfound.html", b)
}

// base is the part of every page's model its layout uses.
type base struct {
	Lang  string
	Langs []langLink
	// Here is this page in its own language, for the refresh link.
	Here         string
	Title        string
	MerchantName string
	Logo         string
	CSS          string
	JS           string
	msgs         map[string]string
	en           map[string]string
}

type langLink struct {
	Code, Name, Href string
	Current          bool
}

// T returns the message key in the page's language, falling back to
// English and then to the key.
func (b *base) T(key string) string {
	if s, ok := b.msgs[key]; ok {
		return s
	}
	if s, ok := b.en[key]; ok {
		return s
	}
	return key
}

// Tf is T with "{name}" placeholders replaced by the values of name, value
// pairs.
func (b *base) Tf(key string, pairs ...string) string {
	s := b.T(key)
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+pairs[i]+"}", pairs[i+1])
	}
	return s
}

// base builds the layout model; keep are query parameters the language
// links carry besides lang.
func (p *Pages) base(lang, self string, keep url.Values) *base {
	b := &base{Lang: lang, CSS: p.AssetPath("pay.css"), JS: p.AssetPath("pay.js"), msgs: p.msgs[lang], en: p.msgs[DefaultLanguage]}
	for _, l := range Languages {
		q := url.Values{}
		for k, v := range keep {
			q[k] = v
		}
		q.Set("lang", l.Code)
		b.Langs = append(b.Langs, langLink{Code: l.Code, Name: l.Name, Href: self + "?" + q.Encode(), Current: l.Code == lang})
		if l.Code == lang {
			b.Here = self + "?" + q.Encode()
		}
	}
	return b
}

// payModel is the payment page's template model.
type payModel struct {
	*base
	P          *checkout.PublicPage
	V          *checkout.PublicView
	M          *checkout.PublicMethod
	Self       string
	Action     string
	Error      string
	StateText  string
	Test       bool
	ShowPicker bool
	ShowPay    bool
	Options    []optionModel
	QR         template.HTML
	WalletURI  template.URL
	Countdown  string
	ExpiresISO string
	Receipt    receiptModel
	Config     string
}

type optionModel struct {
	checkout.PublicOption
	ID      string
	FeeText string
}

type receiptModel struct {
	Shown      bool
	Amount     string
	Token      string
	TxHash     string
	TxShort    string
	TxURL      string
	Time       string
	TimeISO    string
	Continue   string
	Underpaid  string
	Processing string
}

// pageConfig is what pay.js reads from the page's data-config attribute.
type pageConfig struct {
	ID         string                  `json:"id"`
	StatusURL  string                  `json:"status_url"`
	EventsURL  string                  `json:"events_url"`
	ExpiresAt  int64                   `json:"expires_at"`
	Now        int64                   `json:"now"`
	State      string                  `json:"state"`
	Final      bool                    `json:"final"`
	SuccessURL string                  `json:"success_url"`
	Accent     string                  `json:"accent"`
	Wallet     *checkout.WalletRequest `json:"wallet"`
	// SolanaWallet is how pay.js pays with a Solana browser wallet; null
	// off Solana.
	SolanaWallet *checkout.SolanaWalletRequest `json:"solana_wallet"`
	Msgs         map[string]string             `json:"msgs"`
	// EmbedOrigin is PayData.Embed: where pay.js posts the widget's
	// messages; "" posts none.
	EmbedOrigin string `json:"embed_origin"`
}

// jsMessages are the catalog keys pay.js uses.
var jsMessages = []string{
	"state.choose", "state.open", "state.processing", "state.paid", "state.expired", "state.canceled",
	"state.underpaid", "state.overpaid", "state.paid_late", "confirmations", "copied", "copy_failed",
	"wallet.connecting", "wallet.switching", "wallet.sent", "wallet.rejected", "wallet.add_network",
	"wallet.failed", "wallet.preparing", "redirect", "receipt_amount", "underpaid_detail",
	"error.checkout_not_open", "error.rate_limited", "error.generic",
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (p *Pages) payModel(d PayData) (*payModel, error) {
	pg, v := d.Page, d.Page.View
	self := "/pay/" + v.ID
	keep := url.Values{}
	if v.Method != nil {
		keep.Set("method", v.Method.Chain+":"+v.Method.Token)
	}
	action := self + "/method"
	if d.Embed != "" {
		// Every link and form of the page stays in the widget's frame.
		embed := url.Values{"embed": {"1"}, "origin": {d.Embed}}
		keep.Set("embed", "1")
		keep.Set("origin", d.Embed)
		action += "?" + embed.Encode()
	}
	m := &payModel{
		base: p.base(d.Lang, self, keep), P: pg, V: v, Self: self, Action: action,
		Test: !v.Livemode, ShowPicker: v.State == "open" && len(pg.Options) > 0,
	}
	if d.Error != "" {
		m.Error = m.T("error." + d.Error)
		if m.Error == "error."+d.Error {
			m.Error = m.T("error.generic")
		}
	}
	if strings.HasPrefix(pg.Merchant.LogoURL, "https://") {
		m.Logo = pg.Merchant.LogoURL
	}
	m.MerchantName = pg.Merchant.Name
	m.Title = m.Tf("pay_to", "merchant", pg.Merchant.Name)
	m.StateText = m.stateText(v)
	for _, o := range pg.Options {
		m.Options = append(m.Options, optionModel{PublicOption: o, ID: "method-" + o.Chain + "-" + o.Token, FeeText: m.T("fee." + o.FeeClass)})
	}
	if v.Method != nil && v.State == "open" {
		m.M, m.ShowPay = v.Method, true
		svg, err := QRSVG(v.Method.URI)
		if err != nil {
			return nil, err
		}
		m.QR = template.HTML(svg) // built by QRSVG: no script, no link
		m.WalletURI = template.URL(v.Method.URI)
	}
	left := max(0, v.ExpiresAt-pg.Now)
	m.Countdown = formatDuration(left)
	m.ExpiresISO = time.Unix(v.ExpiresAt, 0).UTC().Format(time.RFC3339)
	m.Receipt = m.receipt(v)

	cfg := pageConfig{
		ID: v.ID, StatusURL: self + "/status", EventsURL: self + "/events", ExpiresAt: v.ExpiresAt, Now: pg.Now,
		State: v.State, Final: v.Final, SuccessURL: v.SuccessURL, Msgs: map[string]string{}, EmbedOrigin: d.Embed,
	}
	if hexColor.MatchString(pg.Merchant.AccentColor) {
		cfg.Accent = pg.Merchant.AccentColor
	}
	if m.M != nil {
		cfg.Wallet, cfg.SolanaWallet = m.M.Wallet, m.M.SolanaWallet
	}
	for _, k := range jsMessages {
		cfg.Msgs[k] = m.T(k)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("page config: %w", err)
	}
	m.Config = string(b)
	return m, nil
}

func (m *payModel) stateText(v *checkout.PublicView) string {
	switch {
	case v.State == "open" && v.Method == nil:
		return m.T("state.choose")
	case v.State == "processing" && v.Payment != nil && v.Payment.ConfirmationsRequired > 0:
		return m.T("state.processing") + " · " + m.Tf("confirmations",
			"n", strconv.FormatUint(v.Payment.Confirmations, 10), "total", strconv.FormatUint(v.Payment.ConfirmationsRequired, 10))
	}
	return m.T("state." + v.State)
}

func (m *payModel) receipt(v *checkout.PublicView) receiptModel {
	var r receiptModel
	if v.State == "underpaid" {
		r.Underpaid = m.Tf("underpaid_detail", "received", v.AmountReceived, "due", v.AmountDue)
	}
	if v.Payment == nil {
		return r
	}
	pay := v.Payment
	r.Shown = true
	r.Amount, r.Token, r.TxHash, r.TxURL = pay.Amount, pay.Token, pay.TxHash, pay.ExplorerURL
	r.TxShort = pay.TxHash
	if len(pay.TxHash) > 20 {
		r.TxShort = pay.TxHash[:10] + "…" + pay.TxHash[len(pay.TxHash)-8:]
	}
	at := v.PaidAt
	if at == 0 {
		at = pay.BlockTime
	}
	if at > 0 {
		t := time.Unix(at, 0).UTC()
		r.Time, r.TimeISO = t.Format("2006-01-02 15:04:05 UTC"), t.Format(time.RFC3339)
	}
	if v.Status == "paid" && validRedirect(v.SuccessURL) {
		r.Continue = v.SuccessURL
	}
	return r
}

// validRedirect accepts an absolute http(s) URL, which the checkout
// service already requires of success_url.
func validRedirect(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// formatDuration formats seconds as m:ss, or h:mm:ss from an hour on.
func formatDuration(s int64) string {
	h, mnt, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, mnt, sec)
	}
	return fmt.Sprintf("%d:%02d", mnt, sec)
}
