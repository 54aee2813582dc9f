package e2e_test

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/examples/merchant/shop"
)

// TestWidgetInBrowser pays through the checkout widget on a merchant's own
// site in a real browser, over three loopback origins: the gateway on
// http://127.0.0.1, the example shop (examples/merchant/shop, run in this
// process) on http://localhost:<port>, and a foreign site on another
// localhost port. The customer clicks the shop's declarative button, the
// modal frames the hosted page, they pick USDC; the test sends exactly the
// amount shown; the widget reports paid to the shop's page, and the shop's
// webhook handler, verifying the gateway's signature, marks the order
// paid. The script also checks the modal's focus trap, Escape and scroll
// lock, onPaid of Stablegate.open in inline mode, that forged messages
// (from a foreign origin's window, and from the shop's own) are ignored,
// and that the foreign site cannot frame the hosted page. Screenshots go
// to artifacts/widget.
func TestWidgetInBrowser(t *testing.T) {
	t.Parallel()
	browserTools(t) // before anything starts: fail at once without them
	chain := startChain(t)
	gw := startGateway(t, chain, startResetter(t))
	api, wallet := gw.merchant("Widget Shop")

	var link sg.PaymentLink
	api.do(http.MethodPost, "/v1/payment-links", map[string]any{
		"price": "12.00", "description": "Stablegate tee",
		"payment_methods": []map[string]string{{"chain": "anvil", "token": "USDC"}},
	}, &link)

	shopLn := listenLoopback(t)
	shopOrigin := "http://localhost:" + port(shopLn)
	var ep struct {
		Secret string `json:"secret"`
	}
	status, body := api.call(http.MethodPost, "/v1/webhook-endpoints", map[string]any{
		"url": "http://" + shopLn.Addr().String() + "/webhooks/stablegate", "enabled_events": []string{"*"},
	})
	if status != http.StatusOK || json.Unmarshal(body, &ep) != nil || ep.Secret == "" {
		t.Fatalf("create webhook endpoint: %d %s", status, body)
	}
	var m sg.Merchant
	api.do(http.MethodPatch, "/v1/merchant", map[string]any{"settings": map[string]any{"allowed_origins": []string{shopOrigin}}}, &m)
	if !slices.Equal(m.Settings.AllowedOrigins, []string{shopOrigin}) {
		t.Fatalf("allowed_origins %v, want [%s]", m.Settings.AllowedOrigins, shopOrigin)
	}
	var pk struct {
		Secret string `json:"secret"`
	}
	gw.client(gw.operator).do(http.MethodPost, "/admin/v1/merchants/"+m.ID+"/keys", map[string]any{"kind": "publishable"}, &pk)
	if !strings.HasPrefix(pk.Secret, "pk_test_") {
		t.Fatalf("publishable key %q", pk.Secret)
	}

	s, err := shop.New(shop.Config{GatewayURL: gw.baseURL, PaymentLink: link.ID, PublishableKey: pk.Secret, WebhookSecret: ep.Secret})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, shopLn, s)
	foreignLn := listenLoopback(t)
	foreignOrigin := "http://localhost:" + port(foreignLn)
	serve(t, foreignLn, foreignSite())

	// An open checkout the forged messages and the foreign frame aim at.
	other, _ := api.checkout("3.00")

	b := runBrowserScript(t, "widget.mjs", "widget", "GATEWAY="+gw.baseURL,
		"SHOP_URL="+shopOrigin+"/", "FOREIGN_URL="+foreignOrigin, "OPEN_CHECKOUT="+other.ID)
	var picked struct{ Checkout, Amount, Address string }
	b.read("pick", &picked)

	// The widget's checkout came from the link, and the frame shows what
	// it reserved.
	var co sg.Checkout
	api.do(http.MethodGet, "/v1/checkouts/"+picked.Checkout, nil, &co)
	pm, ok := co.Method(sg.PaymentMethod{Chain: "anvil", Token: "USDC"})
	if co.Metadata["payment_link"] != link.ID || !ok || !pm.IsReserved() || picked.Address != wallet.Hex() || picked.Amount != sg.FormatUnits(pm.Amount, pm.Decimals) {
		t.Fatalf("the frame showed %s to %s; the checkout %+v reserved %+v", picked.Amount, picked.Address, co, pm)
	}
	amount, err := sg.ParseUnits(picked.Amount, pm.Decimals)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chain.transfer(t.Context(), chain.usdc, wallet, amount); err != nil {
		t.Fatalf("send the payment: %v", err)
	}
	b.say("sent")
	var done struct {
		Done   bool
		Events []string
	}
	b.read("end", &done)
	if !done.Done {
		t.Fatalf("the browser script did not finish: %+v", done)
	}
	for _, want := range []string{"loaded", "method_selected", "paid", "closed"} {
		if !slices.Contains(done.Events, want) {
			t.Errorf("the shop's page saw events %v, without %s", done.Events, want)
		}
	}

	// The order is paid because the signed webhook said so.
	o, ok := s.Order(picked.Checkout)
	if !ok || o.Status != "paid" || !slices.Contains(o.Events, sg.EventCheckoutPaid) {
		t.Errorf("shop order %+v, want paid by checkout.paid", o)
	}
	if o, ok := s.Order(other.ID); ok {
		t.Errorf("the forged paid messages made an order: %+v", o)
	}
}

// listenLoopback listens on a free port of 127.0.0.1.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func port(ln net.Listener) string { return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port) }

// serve serves h on ln until the test ends.
func serve(t *testing.T, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

var foreignPage = template.Must(template.New("").Parse(`<!doctype html><title>Foreign site</title>
<h1>Not the shop</h1><iframe id="victim" title="victim" src="{{.}}" width="400" height="400"></iframe>`))

// foreignSite is a site the merchant did not allow: /frame?src= frames a
// URL; /forge?checkout= posts messages in the widget's schema to its
// opener (or parent), then one that says it is done.
func foreignSite() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /frame", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = foreignPage.Execute(w, r.URL.Query().Get("src"))
	})
	mux.HandleFunc("GET /forge", func(w http.ResponseWriter, r *http.Request) {
		id, _ := json.Marshal(r.URL.Query().Get("checkout"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Forge</title><script>
var id = %s, target = window.opener || parent;
['paid', 'expired', 'closed'].forEach(function (type) {
  target.postMessage({source: 'stablegate', version: 1, type: type, checkout: id}, '*');
});
target.postMessage({source: 'forge', done: true}, '*');
</script>`, id)
	})
	return mux
}
