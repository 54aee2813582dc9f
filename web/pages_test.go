package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/web"
)

func TestNegotiate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, query, accept, want string
	}{
		{"nothing", "", "", "en"},
		{"English", "", "en-GB,en;q=0.9", "en"},
		{"Simplified Chinese", "", "zh-CN,zh;q=0.9", "zh-CN"},
		{"Chinese, no region", "", "zh", "zh-CN"},
		{"Hans script", "", "zh-Hans-SG", "zh-CN"},
		{"Traditional script skipped", "", "zh-Hant,en;q=0.5", "en"},
		{"Taiwan skipped", "", "zh-TW,ja;q=0.9", "ja"},
		{"Hong Kong skipped", "", "zh-HK", "en"},
		{"Japanese", "", "ja-JP,ja;q=0.9,en;q=0.8", "ja"},
		{"underscore", "", "ja_JP", "ja"},
		{"case", "", "JA", "ja"},
		{"quality order", "", "en;q=0.3,ja;q=0.7", "ja"},
		{"header order breaks ties", "", "ja;q=0.5,en;q=0.5", "ja"},
		{"q=0 refuses", "", "ja;q=0,en;q=0.1", "en"},
		{"bad quality ignored", "", "ja;q=abc,zh-CN;q=0.4", "zh-CN"},
		{"quality above 1 ignored", "", "ja;q=1.5,zh-CN;q=0.4", "zh-CN"},
		{"too precise ignored", "", "ja;q=0.1234,zh-CN;q=0.001", "zh-CN"},
		{"full precision", "", "en;q=0.999,ja;q=1.000", "ja"},
		{"spaces", "", " fr ; q=0.9 , ja ; q=0.8 ", "ja"},
		{"wildcard", "", "fr,*;q=0.1", "en"},
		{"unsupported", "", "fr-FR,de;q=0.9", "en"},
		{"query wins", "ja", "zh-CN", "ja"},
		{"query case", "ZH-cn", "", "zh-CN"},
		{"unknown query ignored", "fr", "ja", "ja"},
		{"bare zh query is not a code", "zh", "", "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := web.Negotiate(tc.query, tc.accept); got != tc.want {
				t.Fatalf("Negotiate(%q, %q) = %q, want %q", tc.query, tc.accept, got, tc.want)
			}
		})
	}
}

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

// TestCatalogsComplete: every language has every English key, no other,
// nothing empty, and the same placeholders.
func TestCatalogsComplete(t *testing.T) {
	t.Parallel()
	p := web.MustNewPages()
	en := p.Messages("en")
	if len(en) < 50 {
		t.Fatalf("English catalog has %d messages", len(en))
	}
	for _, l := range web.Languages {
		msgs := p.Messages(l.Code)
		for k, v := range en {
			got, ok := msgs[k]
			if !ok || strings.TrimSpace(got) == "" {
				t.Errorf("%s: %q missing or empty", l.Code, k)
				continue
			}
			want := placeholder.FindAllString(v, -1)
			have := placeholder.FindAllString(got, -1)
			slices.Sort(want)
			slices.Sort(have)
			if !slices.Equal(want, have) {
				t.Errorf("%s: %q has placeholders %v, English %v", l.Code, k, have, want)
			}
		}
		for k := range msgs {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %q is not an English key", l.Code, k)
			}
		}
	}
}

// method builds the public method of a reserved amount on a registry chain.
func method(t *testing.T, chainID, token, to, amount string) *checkout.PublicMethod {
	t.Helper()
	c, tok, err := chains.Builtin().Lookup(chainID, token)
	if err != nil {
		t.Fatal(err)
	}
	units, err := sg.ParseUnits(amount, tok.Decimals)
	if err != nil {
		t.Fatal(err)
	}
	uri, err := chains.PaymentURI(c, tok, to, units, chains.URIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	head, tail := checkout.SplitAmount(amount)
	return &checkout.PublicMethod{
		Chain: c.ID, Token: tok.Symbol, ChainName: c.Name, Address: to, Amount: amount, AmountBaseUnits: units.String(), URI: uri,
		AmountHead: head, AmountTail: tail, FeeClass: c.FeeClass, NativeSymbol: c.NativeSymbol,
		Wallet: &checkout.WalletRequest{ChainID: fmt.Sprintf("0x%x", c.ChainID), ChainName: c.Name, NativeSymbol: c.NativeSymbol,
			RPCURLs: c.RPCURLs, Contract: tok.Contract, To: to, Amount: units.String()},
	}
}

const merchantAddr = "0x52908400098527886E0F7030069857D2E4169EE7"

// page returns a page of an open checkout paying m, or choosing when m is
// nil, with two accepted methods.
func page(m *checkout.PublicMethod) *checkout.PublicPage {
	v := &checkout.PublicView{
		ID: "co_06h366fbkgc8pd3cf566328bmm", Livemode: true, Status: sg.StatusOpen, State: "open",
		Price: "50.00", Currency: "USD", Method: m, ExpiresAt: 1_900_000_900, SuccessURL: "https://shop.example/thanks",
	}
	p := &checkout.PublicPage{
		View: v, Merchant: checkout.PublicMerchant{Name: "Demo <Store>", LogoURL: "https://shop.example/logo.png", AccentColor: "#1a73e8", SupportEmail: "help@shop.example"},
		Description: "Order #1042", Now: 1_900_000_000,
		Options: []checkout.PublicOption{
			{Chain: "ethereum", Token: "USDT", ChainName: "Ethereum", FeeClass: chains.FeeHigh},
			{Chain: "bsc", Token: "USDT", ChainName: "BNB Smart Chain", FeeClass: chains.FeeLow},
		},
	}
	for i := range p.Options {
		if m != nil && p.Options[i].Chain == m.Chain && p.Options[i].Token == m.Token {
			p.Options[i].Selected = true
		}
	}
	return p
}

func render(t *testing.T, d web.PayData) string {
	t.Helper()
	var b bytes.Buffer
	if err := web.MustNewPages().RenderPay(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRenderPayShowsTheAmountToSend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		m      *checkout.PublicMethod
		amount string
	}{
		{"EVM, 6 decimals", method(t, "ethereum", "USDT", merchantAddr, "50.00012"), "50.00<strong>012</strong>"},
		{"BSC, 18 decimals", method(t, "bsc", "USDT", merchantAddr, "50.00999"), "50.00<strong>999</strong>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			html := render(t, web.PayData{Lang: "en", Page: page(tc.m)})
			for _, want := range []string{
				`<html lang="en">`,
				`data-testid="amount" data-copy="` + tc.m.Amount + `">` + tc.amount + `</span>`,
				`data-testid="address" data-copy="` + merchantAddr + `">` + merchantAddr + `</span>`,
				`data-testid="warning"`, "Exchanges that deduct a withdrawal fee", "Send only USDT on the " + tc.m.ChainName + " network",
				`data-testid="qr"><svg xmlns="http://www.w3.org/2000/svg"`,
				`href="` + strings.ReplaceAll(tc.m.URI, "&", "&amp;") + `"`,
				`id="copy-amount" data-testid="copy-amount"`, `id="copy-address" data-testid="copy-address"`,
				`id="countdown" data-testid="countdown"`, `datetime="2030-03-17T18:01:40Z">15:00</time>`,
				`id="status" data-testid="status"`, "Waiting for your payment",
				`id="method-` + tc.m.Chain + `-USDT" data-testid="method-` + tc.m.Chain + `-USDT" aria-current="true"`,
				`id="receipt" data-testid="receipt"`, `id="tx-link" data-testid="tx-link"`, `id="lang-switch" data-testid="lang-switch"`,
				"Demo &lt;Store&gt;", `<img class="logo" src="https://shop.example/logo.png"`, "help@shop.example",
				"High network fee", "Low network fee",
			} {
				if !strings.Contains(html, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			// The QR code is of the method's URI and nothing else.
			svg := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindString(html)
			qr, err := web.QRSVG(tc.m.URI)
			if err != nil || svg != string(qr) {
				t.Errorf("inline QR code is not QRSVG(%q)", tc.m.URI)
			}
			if strings.Contains(html, `class="test"`) {
				t.Error("live checkout shows the test-mode notice")
			}
			cfg := config(t, html)
			if cfg["wallet"].(map[string]any)["amount"] != tc.m.AmountBaseUnits || cfg["accent"] != "#1a73e8" || cfg["state"] != "open" {
				t.Errorf("page config %v", cfg)
			}
		})
	}
}

// config decodes the page's data-config attribute.
func config(t *testing.T, html string) map[string]any {
	t.Helper()
	m := regexp.MustCompile(`data-config="([^"]*)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatal("no data-config")
	}
	raw := strings.NewReplacer("&#34;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'", "&#43;", "+").Replace(m[1])
	var cfg map[string]any
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatalf("data-config: %v: %s", err, raw)
	}
	return cfg
}

func TestRenderPayStates(t *testing.T) {
	t.Parallel()
	paidPayment := &checkout.PublicPayment{
		Chain: "bsc", Token: "USDT", TxHash: "0x" + strings.Repeat("ab", 32), ExplorerURL: "https://bscscan.com/tx/0x" + strings.Repeat("ab", 32),
		Amount: "50.00999", BlockTime: 1_900_000_100,
	}
	for _, tc := range []struct {
		name   string
		edit   func(p *checkout.PublicPage)
		lang   string
		want   []string
		unwant []string
	}{
		{"choosing", func(p *checkout.PublicPage) {
			p.View.Method = nil
			for i := range p.Options {
				p.Options[i].Selected = false
			}
		}, "en",
			[]string{"Choose how to pay", `<form method="post" action="/pay/co_06h366fbkgc8pd3cf566328bmm/method">`, `name="chain" value="bsc"`, `name="lang" value="en"`},
			[]string{`id="instructions"`, `data-testid="method-bsc-USDT" aria-current`}},
		{"processing with a count", func(p *checkout.PublicPage) {
			p.View.State, p.View.Status = "processing", sg.StatusProcessing
			p.View.Payment = &checkout.PublicPayment{Chain: "bsc", Token: "USDT", TxHash: "0x01", Amount: "50.00999", ConfirmationsRequired: 15, Confirmations: 4}
		}, "en", []string{"Payment detected, confirming · 4 of 15 confirmations", `id="methods" class="card methods" aria-labelledby="methods-h" hidden`},
			[]string{`id="instructions"`}},
		{"paid", func(p *checkout.PublicPage) {
			p.View.State, p.View.Status, p.View.PaidAt, p.View.Final = "paid", sg.StatusPaid, 1_900_000_200, true
			p.View.Payment = paidPayment
		}, "ja", []string{"お支払い済みです", `<a id="tx-link" data-testid="tx-link" class="mono" href="https://bscscan.com/tx/0x` + strings.Repeat("ab", 32) + `"`,
			"0xabababab…abababab", "50.00999 USDT", `datetime="2030-03-17T17:50:00Z">2030-03-17 17:50:00 UTC</time>`,
			`id="continue-link" href="https://shop.example/thanks"`},
			[]string{`id="instructions"`, `id="receipt" data-testid="receipt" class="card receipt" aria-labelledby="receipt-h" hidden`}},
		{"expired", func(p *checkout.PublicPage) { p.View.State = "expired" }, "zh-CN",
			[]string{"此付款已过期", `id="countdown" data-testid="countdown" class="countdown" hidden`},
			[]string{`id="instructions"`}},
		{"underpaid", func(p *checkout.PublicPage) {
			p.View.State, p.View.Exception, p.View.AmountDue, p.View.AmountReceived = "underpaid", sg.ExceptionUnderpaid, "50.00", "49.00"
		}, "en", []string{"Received 49.00 of 50.00"}, nil},
		{"test mode", func(p *checkout.PublicPage) { p.View.Livemode = false }, "en", []string{`class="test"`, "Test mode"}, nil},
		{"choice refused", func(p *checkout.PublicPage) {}, "en", []string{`id="error" data-testid="error" role="alert">Too many attempts`}, nil},
		{"no logo over http", func(p *checkout.PublicPage) { p.Merchant.LogoURL = "http://shop.example/logo.png" }, "en", nil, []string{"<img"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := page(method(t, "bsc", "USDT", merchantAddr, "50.00999"))
			tc.edit(p)
			d := web.PayData{Lang: tc.lang, Page: p}
			if tc.name == "choice refused" {
				d.Error = "rate_limited"
			}
			html := render(t, d)
			for _, w := range tc.want {
				if !strings.Contains(html, w) {
					t.Errorf("page lacks %s", w)
				}
			}
			for _, w := range tc.unwant {
				if strings.Contains(html, w) {
					t.Errorf("page has %s", w)
				}
			}
		})
	}
}

// TestPagesNeedNoInlineCode: nothing the CSP would block, in the templates
// or a rendered page.
func TestPagesNeedNoInlineCode(t *testing.T) {
	t.Parallel()
	bad := regexp.MustCompile(`(?i)\sstyle=|<style|\son[a-z]+=|<script(?:\s+type="[^"]*")?>|javascript:|https?://[^"]*\.(?:js|css)"`)
	pages := web.MustNewPages()
	var nf bytes.Buffer
	if err := pages.RenderNotFound(&nf, "ja"); err != nil {
		t.Fatal(err)
	}
	for name, html := range map[string]string{
		"pay":      render(t, web.PayData{Lang: "en", Page: page(method(t, "bsc", "USDT", merchantAddr, "50.00999"))}),
		"notfound": nf.String(),
	} {
		if m := bad.FindString(html); m != "" {
			t.Errorf("%s page has %q", name, m)
		}
		if !regexp.MustCompile(`<link rel="stylesheet" href="/assets/pay\.[0-9a-f]{12}\.css">`).MatchString(html) ||
			!regexp.MustCompile(`<script src="/assets/pay\.[0-9a-f]{12}\.js" defer></script>`).MatchString(html) {
			t.Errorf("%s page does not link the hashed CSS and JS", name)
		}
	}
	if !strings.Contains(nf.String(), "お支払いが見つかりません") || !strings.Contains(nf.String(), `<html lang="ja">`) {
		t.Errorf("not-found page:\n%s", nf.String())
	}
	js, _ := fs.ReadFile(web.Static(), "pay.js")
	for _, forbidden := range []string{"eval(", "new Function", "innerHTML", ".setAttribute('style'", "http://", "https://cdn"} {
		if bytes.Contains(js, []byte(forbidden)) {
			t.Errorf("pay.js uses %q", forbidden)
		}
	}
	for _, needed := range []string{"eth_requestAccounts", "wallet_switchEthereumChain", "wallet_addEthereumChain", "4902", "eth_sendTransaction", "0xa9059cbb", "BigInt", "EventSource", "window.ethereum"} {
		if !bytes.Contains(js, []byte(needed)) {
			t.Errorf("pay.js lacks %q", needed)
		}
	}
}

// budget is the page weight budget: HTML, CSS and JS, gzipped.
const budget = 60 << 10

func gzipSize(t *testing.T, b []byte) int {
	t.Helper()
	var out bytes.Buffer
	w, _ := gzip.NewWriterLevel(&out, gzip.DefaultCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Len()
}

func TestPageWeightBudget(t *testing.T) {
	t.Parallel()
	pages := web.MustNewPages()
	html := render(t, web.PayData{Lang: "ja", Page: page(method(t, "bsc", "USDT", merchantAddr, "50.00999"))})
	sizes := map[string]int{"html": gzipSize(t, []byte(html))}
	for _, name := range []string{"pay.css", "pay.js"} {
		a, ok := pages.Asset(strings.TrimPrefix(pages.AssetPath(name), "/assets/"))
		if !ok || !a.Immutable {
			t.Fatalf("asset %s not served under its hashed name", name)
		}
		sizes[name] = gzipSize(t, a.Body)
		if len(a.Gzip) > sizes[name]+64 {
			t.Errorf("%s is served gzipped at %d bytes, more than %d", name, len(a.Gzip), sizes[name])
		}
	}
	total := sizes["html"] + sizes["pay.css"] + sizes["pay.js"]
	t.Logf("gzipped: html %d, css %d, js %d, total %d of %d bytes", sizes["html"], sizes["pay.css"], sizes["pay.js"], total, budget)
	if total >= budget {
		t.Fatalf("page weight %d bytes gzipped, over the %d budget", total, budget)
	}
	if sizes["html"] < 2000 || sizes["pay.js"] < 2000 || sizes["pay.css"] < 1000 {
		t.Fatalf("sizes %v are implausibly small: the measurement is broken", sizes)
	}
}

// TestContrast checks the colour pairs pay.css sets, text on background,
// against WCAG's 4.5:1 for normal text; each pair must appear in the CSS.
func TestContrast(t *testing.T) {
	t.Parallel()
	css, err := fs.ReadFile(web.Static(), "pay.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{
		{"#1b1f24", "#f3f4f6"}, // body text on the page
		{"#1b1f24", "#fff"},    // text on cards
		{"#4a5360", "#fff"},    // labels and hints
		{"#4a5360", "#f3f4f6"}, // footer
		{"#0b57d0", "#fff"},    // links, copy buttons, the emphasised digits
		{"#0b57d0", "#f3f4f6"}, // language links
		{"#fff", "#0b57d0"},    // primary buttons
		{"#fff", "#0842a0"},    // primary buttons, hovered
		{"#0b57d0", "#eef3fd"}, // the selected method's label
		{"#1b1f24", "#dfe6f3"}, // the current language
		{"#143b7a", "#e8eefb"}, // status: open
		{"#5c3a00", "#fff1d6"}, // status: processing; medium fee
		{"#13522a", "#e3f3e8"}, // status: paid; low fee
		{"#8a1c1c", "#fdecea"}, // status: expired; high fee; errors
		{"#4d3100", "#ffe8b3"}, // test mode
		{"#4d3100", "#fff4e5"}, // the warning
	} {
		for _, c := range pair {
			if !bytes.Contains(css, []byte(c)) {
				t.Errorf("pay.css does not use %s", c)
			}
		}
		if r := contrast(pair[0], pair[1]); r < 4.5 {
			t.Errorf("%s on %s: contrast %.2f, want at least 4.5", pair[0], pair[1], r)
		}
	}
}

func luminance(hex string) float64 {
	hex = strings.TrimPrefix(hex, "#")
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	var rgb [3]float64
	for i := range rgb {
		v, _ := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}

func contrast(fg, bg string) float64 {
	a, b := luminance(fg), luminance(bg)
	return (max(a, b) + 0.05) / (min(a, b) + 0.05)
}
