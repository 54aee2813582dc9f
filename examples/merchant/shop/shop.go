// Package shop is the example merchant site of examples/merchant: a
// product page with the Stablegate checkout widget's button, orders kept
// in memory, and the webhook handler that marks an order paid.
//
// The widget's onPaid (here the stablegate:paid DOM event) only tells the
// page to say "confirming…": an order is paid when the gateway's signed
// checkout.paid webhook says so, never because the browser did.
package shop

import (
	"embed"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/stablegate/stablegate/webhooks/verify"
)

//go:embed page.html shop.js
var files embed.FS

var page = template.Must(template.ParseFS(files, "page.html"))

// Config is the shop's setup.
type Config struct {
	// GatewayURL is the gateway's public base URL, where widget.js and the
	// API are ("http://127.0.0.1:8080").
	GatewayURL string
	// PaymentLink is the id ("plink_...") of the link the button sells.
	PaymentLink string
	// PublishableKey is the merchant's pk_ key, safe in a web page.
	PublishableKey string
	// WebhookSecret is the endpoint's whsec_ secret, to verify deliveries.
	WebhookSecret string
	// Log defaults to slog.Default.
	Log *slog.Logger
}

// Order is what the shop knows of one checkout.
type Order struct {
	Checkout string `json:"checkout"`
	// Status is "pending" until the checkout.paid webhook, then "paid".
	Status string `json:"status"`
	// Events are the webhook event types received, in order.
	Events []string `json:"events"`
}

// Shop is the example site's handler.
type Shop struct {
	cfg    Config
	verify *verify.Verifier
	mux    *http.ServeMux

	mu     sync.Mutex
	orders map[string]*Order
	paid   chan string
}

// New returns the shop; it fails for a webhook secret that is not one.
func New(cfg Config) (*Shop, error) {
	v, err := verify.New(cfg.WebhookSecret)
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.GatewayURL = strings.TrimRight(cfg.GatewayURL, "/")
	s := &Shop{cfg: cfg, verify: v, mux: http.NewServeMux(), orders: map[string]*Order{}, paid: make(chan string, 64)}
	s.mux.HandleFunc("GET /{$}", s.product)
	s.mux.HandleFunc("GET /shop.js", s.script)
	s.mux.HandleFunc("GET /orders/{checkout}", s.order)
	s.mux.Handle("POST /webhooks/stablegate", verify.Middleware(v, http.HandlerFunc(s.webhook)))
	return s, nil
}

// ServeHTTP serves the site.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Order returns a copy of the order of a checkout.
func (s *Shop) Order(checkout string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[checkout]
	if !ok {
		return Order{}, false
	}
	c := *o
	c.Events = append([]string(nil), o.Events...)
	return c, true
}

// Paid receives the checkout id of each order as the webhook marks it
// paid, for tests and tools to wait on; sends never block.
func (s *Shop) Paid() <-chan string { return s.paid }

func (s *Shop) product(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The shop's own strict policy: the widget needs its script, its API
	// call and its frame from the gateway, nothing inline.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; script-src 'self' "+s.cfg.GatewayURL+
		"; connect-src 'self' "+s.cfg.GatewayURL+"; frame-src "+s.cfg.GatewayURL+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	err := page.Execute(w, map[string]string{"Gateway": s.cfg.GatewayURL, "Link": s.cfg.PaymentLink, "Key": s.cfg.PublishableKey})
	if err != nil {
		s.cfg.Log.Error("render product page", "err", err)
	}
}

func (s *Shop) script(w http.ResponseWriter, _ *http.Request) {
	b, _ := files.ReadFile("shop.js")
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(b)
}

// order answers the order's status to the page, which asks once the
// widget says paid; an order the webhook has not reached yet is pending.
func (s *Shop) order(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("checkout")
	o, ok := s.Order(id)
	if !ok {
		o = Order{Checkout: id, Status: "pending", Events: []string{}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(o)
}

// event is the part of a Stablegate webhook body the shop reads.
type event struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		ID       string            `json:"id"`
		Object   string            `json:"object"`
		Status   string            `json:"status"`
		Metadata map[string]string `json:"metadata"`
	} `json:"data"`
}

// webhook records a verified delivery (verify.Middleware refused any
// other with 401). Deliveries come at least once and in any order, so
// applying one twice, or a created after a paid, changes nothing.
func (s *Shop) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	var e event
	if err := json.Unmarshal(body, &e); err != nil {
		http.Error(w, "not a Stablegate event", http.StatusBadRequest)
		return
	}
	if e.Data.Object != "checkout" || e.Data.ID == "" || e.Data.Metadata["payment_link"] != s.cfg.PaymentLink {
		w.WriteHeader(http.StatusNoContent) // not one of this shop's orders
		return
	}
	s.mu.Lock()
	o, ok := s.orders[e.Data.ID]
	if !ok {
		o = &Order{Checkout: e.Data.ID, Status: "pending"}
		s.orders[e.Data.ID] = o
	}
	o.Events = append(o.Events, e.Type)
	newlyPaid := false
	if (e.Type == "checkout.paid" || e.Type == "checkout.paid_late" || e.Type == "checkout.overpaid") && o.Status != "paid" {
		o.Status, newlyPaid = "paid", true
	}
	s.mu.Unlock()
	if newlyPaid {
		s.cfg.Log.Info("order paid", "checkout", e.Data.ID, "event", e.ID)
		select {
		case s.paid <- e.Data.ID:
		default:
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
