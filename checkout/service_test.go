package checkout_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/store"
)

func TestCreateRejects(t *testing.T) {
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	live := sg.Principal{MerchantID: f.m.ID, Livemode: true}
	valid := func() checkout.CreateParams { return checkout.CreateParams{Price: "49.00"} }
	with := func(change func(p *checkout.CreateParams)) checkout.CreateParams {
		p := valid()
		change(&p)
		return p
	}
	meta := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = "v"
		}
		return m
	}
	tooMany := make([]sg.PaymentMethod, 65)
	for i := range tooMany {
		tooMany[i] = baseSepoliaUSDC
	}
	tests := []struct {
		name      string
		principal *sg.Principal
		params    checkout.CreateParams
		code      sg.ErrorCode
		reason    string
		param     string
	}{
		{name: "zero price", params: with(func(p *checkout.CreateParams) { p.Price = "0" }), reason: "price_not_positive", param: "price"},
		{name: "zero price with decimals", params: with(func(p *checkout.CreateParams) { p.Price = "0.00" }), reason: "price_not_positive", param: "price"},
		{name: "negative price", params: with(func(p *checkout.CreateParams) { p.Price = "-49.00" }), reason: "price_invalid", param: "price"},
		{name: "missing price", params: with(func(p *checkout.CreateParams) { p.Price = "" }), reason: "price_invalid", param: "price"},
		{name: "three decimals", params: with(func(p *checkout.CreateParams) { p.Price = "49.001" }), reason: "price_too_precise", param: "price"},
		{name: "price above 1e9", params: with(func(p *checkout.CreateParams) { p.Price = "1000000000.01" }), reason: "price_too_large", param: "price"},
		{name: "currency EUR", params: with(func(p *checkout.CreateParams) { p.Currency = "EUR" }), reason: "currency_unsupported", param: "currency"},
		{name: "expires_in 299", params: with(func(p *checkout.CreateParams) { p.ExpiresIn = ptr[int64](299) }), reason: "expires_in_out_of_range", param: "expires_in"},
		{name: "expires_in 86401", params: with(func(p *checkout.CreateParams) { p.ExpiresIn = ptr[int64](86401) }), reason: "expires_in_out_of_range", param: "expires_in"},
		{name: "negative expires_in", params: with(func(p *checkout.CreateParams) { p.ExpiresIn = ptr[int64](-1) }), reason: "expires_in_out_of_range", param: "expires_in"},
		{name: "unknown chain", params: with(func(p *checkout.CreateParams) {
			p.PaymentMethods = []sg.PaymentMethod{{Chain: "tron", Token: "USDT"}}
		}), reason: "chain_unknown", param: "payment_methods[0].chain"},
		{name: "unknown token", params: with(func(p *checkout.CreateParams) {
			p.PaymentMethods = []sg.PaymentMethod{{Chain: "base-sepolia", Token: "USDT"}}
		}), reason: "token_unknown", param: "payment_methods[0].token"},
		{name: "mainnet chain with a test key", params: with(func(p *checkout.CreateParams) {
			p.PaymentMethods = []sg.PaymentMethod{{Chain: "base", Token: "USDC"}}
		}), reason: "payment_method_wrong_mode", param: "payment_methods[0]"},
		{name: "testnet chain with a live key", principal: &live, params: with(func(p *checkout.CreateParams) {
			p.PaymentMethods = []sg.PaymentMethod{baseSepoliaUSDC}
		}), reason: "payment_method_wrong_mode", param: "payment_methods[0]"},
		{name: "method without a wallet", params: with(func(p *checkout.CreateParams) {
			p.PaymentMethods = []sg.PaymentMethod{baseSepoliaUSDC, sepoliaUSDC}
		}), reason: "payment_method_no_wallet", param: "payment_methods[1]"},
		{name: "duplicate method", params: with(func(p *checkout.CreateParams) {
			p.PaymentMethods = []sg.PaymentMethod{baseSepoliaUSDC, {Chain: "base-sepolia", Token: "usdc"}}
		}), reason: "payment_method_duplicate", param: "payment_methods[1]"},
		{name: "65 methods", params: with(func(p *checkout.CreateParams) { p.PaymentMethods = tooMany }), reason: "payment_methods_too_many", param: "payment_methods"},
		{name: "no live wallet", principal: &live, params: valid(), reason: "payment_methods_unavailable", param: "payment_methods"},
		{name: "51 metadata keys", params: with(func(p *checkout.CreateParams) { p.Metadata = meta(51) }), reason: "metadata_too_many_keys", param: "metadata"},
		{name: "empty metadata key", params: with(func(p *checkout.CreateParams) { p.Metadata = map[string]string{"": "v"} }), reason: "metadata_key_invalid", param: "metadata"},
		{name: "41-character metadata key", params: with(func(p *checkout.CreateParams) {
			p.Metadata = map[string]string{strings.Repeat("k", 41): "v"}
		}), reason: "metadata_key_invalid", param: "metadata"},
		{name: "501-character metadata value", params: with(func(p *checkout.CreateParams) {
			p.Metadata = map[string]string{"note": strings.Repeat("v", 501)}
		}), reason: "metadata_value_too_long", param: "metadata[note]"},
		{name: "success_url not http", params: with(func(p *checkout.CreateParams) { p.SuccessURL = "ftp://shop.example/done" }), reason: "url_invalid", param: "success_url"},
		{name: "relative success_url", params: with(func(p *checkout.CreateParams) { p.SuccessURL = "/done" }), reason: "url_invalid", param: "success_url"},
		{name: "javascript cancel_url", params: with(func(p *checkout.CreateParams) { p.CancelURL = "javascript:alert(1)" }), reason: "url_invalid", param: "cancel_url"},
		{name: "bad email", params: with(func(p *checkout.CreateParams) { p.CustomerEmail = "not-an-email" }), reason: "customer_email_invalid", param: "customer_email"},
		{name: "email with a display name", params: with(func(p *checkout.CreateParams) { p.CustomerEmail = "Bob <bob@example.com>" }), reason: "customer_email_invalid", param: "customer_email"},
		{name: "201-character order_id", params: with(func(p *checkout.CreateParams) { p.OrderID = strings.Repeat("o", 201) }), reason: "order_id_too_long", param: "order_id"},
		{name: "501-character description", params: with(func(p *checkout.CreateParams) { p.Description = strings.Repeat("d", 501) }), reason: "description_too_long", param: "description"},
		{name: "payment_method not accepted", params: with(func(p *checkout.CreateParams) {
			p.PaymentMethods = []sg.PaymentMethod{baseSepoliaUSDC}
			p.PaymentMethod = &sepoliaUSDC
		}), reason: "payment_method_not_accepted", param: "payment_method"},
		{name: "unknown merchant", principal: &sg.Principal{MerchantID: "mer_nobody"}, params: valid(), code: sg.ENOTFOUND, reason: "resource_missing", param: "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.p
			if tt.principal != nil {
				p = *tt.principal
			}
			code := tt.code
			if code == "" {
				code = sg.EINVALID
			}
			before := f.redisKeys()
			c, err := f.svc.Create(f.ctx, p, tt.params)
			if err == nil {
				t.Fatalf("Create succeeded with %s", c.ID)
			}
			wantReason(t, err, code, tt.reason, tt.param)
			if after := f.redisKeys(); !slices.Equal(before, after) {
				t.Fatalf("a refused Create changed the keys: before %v, after %v", before, after)
			}
			if n := f.countCheckouts(f.m.ID, false) + f.countCheckouts(f.m.ID, true); n != 0 {
				t.Fatalf("%d checkouts stored, want 0", n)
			}
		})
	}
}

func TestCreateAccepts(t *testing.T) {
	f := newFixture(t)
	w := f.addWallet(f.p, "base-sepolia")
	tests := []struct {
		name     string
		params   checkout.CreateParams
		price    string
		currency string
		expires  time.Duration
		check    func(t *testing.T, c *sg.Checkout)
	}{
		{name: "defaults", params: checkout.CreateParams{Price: "49"}, price: "49.00", currency: "USD", expires: sg.DefaultCheckoutExpiry},
		{name: "lower-case currency", params: checkout.CreateParams{Price: "49.5", Currency: "usd"}, price: "49.50", currency: "USD", expires: sg.DefaultCheckoutExpiry},
		{name: "shortest expiry", params: checkout.CreateParams{Price: "1.00", ExpiresIn: ptr[int64](300)}, price: "1.00", currency: "USD", expires: 300 * time.Second},
		{name: "longest expiry", params: checkout.CreateParams{Price: "1.00", ExpiresIn: ptr[int64](86400)}, price: "1.00", currency: "USD", expires: 86400 * time.Second},
		{name: "largest price", params: checkout.CreateParams{Price: "1000000000.00"}, price: "1000000000.00", currency: "USD", expires: sg.DefaultCheckoutExpiry},
		{name: "50 metadata keys and every field", params: checkout.CreateParams{
			Price: "10.00", Description: "Order 1", OrderID: "order-1", SuccessURL: "https://shop.example/ok", CancelURL: "http://shop.example/cancel",
			CustomerEmail: "bob@example.com", Metadata: func() map[string]string {
				m := map[string]string{}
				for i := range 50 {
					m[fmt.Sprintf("k%d", i)] = strings.Repeat("v", 500)
				}
				return m
			}(),
		}, price: "10.00", currency: "USD", expires: sg.DefaultCheckoutExpiry, check: func(t *testing.T, c *sg.Checkout) {
			if len(c.Metadata) != 50 || c.OrderID != "order-1" || c.CustomerEmail != "bob@example.com" || c.SuccessURL != "https://shop.example/ok" {
				t.Fatalf("stored fields lost: %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.Advance(time.Millisecond) // events sort in creation order
			c := f.create(f.p, tt.params)
			got, err := f.svc.Get(f.ctx, f.m.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			now := f.clock.Now()
			if got.Status != sg.StatusOpen || got.Price != tt.price || got.Currency != tt.currency || got.Livemode ||
				got.Created != now.Unix() || got.ExpiresAt != now.Add(tt.expires).Unix() ||
				got.LateUntil != got.ExpiresAt+86400 || got.Version != 1 || got.Metadata == nil {
				t.Fatalf("stored checkout %+v, want open %s %s expiring in %v", got, tt.price, tt.currency, tt.expires)
			}
			// The only accepted method is chosen and reserved at creation.
			if len(got.Methods) != 1 || got.Methods[0].PaymentMethod != baseSepoliaUSDC || !got.Methods[0].IsReserved() ||
				got.Methods[0].Address != w.Address || got.Methods[0].Decimals != 6 || got.Methods[0].Contract != "0x036CbD53842c5426634e7929541eC2318f3dCF7e" {
				t.Fatalf("methods %+v, want base-sepolia USDC reserved on %s", got.Methods, w.Address)
			}
			wantURI := fmt.Sprintf("ethereum:0x036CbD53842c5426634e7929541eC2318f3dCF7e@84532/transfer?address=%s&uint256=%s", w.Address, got.Methods[0].Amount)
			if got.Methods[0].URI != wantURI {
				t.Fatalf("payment URI %q, want %q", got.Methods[0].URI, wantURI)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
	// Each creation recorded one checkout.created event carrying the checkout.
	evts := f.events(f.m.ID, sg.EventCheckoutCreated)
	if len(evts) != len(tests) {
		t.Fatalf("%d checkout.created events, want %d", len(evts), len(tests))
	}
	var data struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Methods []struct {
			Amount string `json:"amount"`
		} `json:"payment_methods"`
	}
	if err := json.Unmarshal(evts[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(data.ID, sg.PrefixCheckout) || data.Status != "open" || len(data.Methods) != 1 || !strings.HasPrefix(data.Methods[0].Amount, "10.00") {
		t.Fatalf("event data %s, want the open 10.00 checkout with its amount", evts[0].Data)
	}
}

// TestChosenMethodIgnoresTokenCase: payment_methods accepts "usdc" for
// USDC (the registry ignores case on purpose, chains.Chain.Token), so the
// chosen payment_method must too; a request naming the same method in both
// fields must not be refused.
func TestChosenMethodIgnoresTokenCase(t *testing.T) {
	lower := sg.PaymentMethod{Chain: "sepolia", Token: "usdc"}
	tests := []struct {
		name   string
		choose func(f *fixture) (*sg.Checkout, error)
	}{
		{name: "chosen at creation", choose: func(f *fixture) (*sg.Checkout, error) {
			return f.svc.Create(f.ctx, f.p, checkout.CreateParams{Price: "49.00", PaymentMethods: []sg.PaymentMethod{lower, baseSepoliaUSDC}, PaymentMethod: &lower})
		}},
		{name: "chosen later", choose: func(f *fixture) (*sg.Checkout, error) {
			c := f.create(f.p, checkout.CreateParams{Price: "49.00", PaymentMethods: []sg.PaymentMethod{lower, baseSepoliaUSDC}})
			return f.svc.SelectMethod(f.ctx, f.m.ID, c.ID, lower)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.addWallet(f.p, "base-sepolia")
			f.addWallet(f.p, "sepolia")
			c, err := tt.choose(f)
			if err != nil {
				t.Fatalf("choosing %v: %v", lower, err)
			}
			if m, ok := c.Method(sepoliaUSDC); !ok || !m.IsReserved() {
				t.Fatalf("methods %+v, want sepolia USDC reserved", c.Methods)
			}
		})
	}
}

func TestCreateWithSeveralMethods(t *testing.T) {
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	ws := f.addWallet(f.p, "sepolia")
	tests := []struct {
		name     string
		params   checkout.CreateParams
		methods  []sg.PaymentMethod
		reserved []bool
	}{
		{name: "all test chains with a wallet, none chosen", params: checkout.CreateParams{Price: "5.00"},
			methods: []sg.PaymentMethod{sepoliaUSDC, baseSepoliaUSDC}, reserved: []bool{false, false}},
		{name: "listed order kept", params: checkout.CreateParams{Price: "5.00", PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC, sepoliaUSDC}},
			methods: []sg.PaymentMethod{baseSepoliaUSDC, sepoliaUSDC}, reserved: []bool{false, false}},
		{name: "one chosen", params: checkout.CreateParams{Price: "5.00", PaymentMethod: &sepoliaUSDC},
			methods: []sg.PaymentMethod{sepoliaUSDC, baseSepoliaUSDC}, reserved: []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.create(f.p, tt.params)
			var got []sg.PaymentMethod
			var res []bool
			for _, m := range c.Methods {
				got = append(got, m.PaymentMethod)
				res = append(res, m.IsReserved())
			}
			if !slices.Equal(got, tt.methods) || !slices.Equal(res, tt.reserved) {
				t.Fatalf("methods %v reserved %v, want %v %v", got, res, tt.methods, tt.reserved)
			}
			if m, _ := c.Method(sepoliaUSDC); m.IsReserved() && m.Address != ws.Address {
				t.Fatalf("sepolia reserved on %s, want %s", m.Address, ws.Address)
			}
		})
	}
}

// twoMethodCheckout creates a checkout accepting sepolia and base-sepolia
// USDC with neither chosen.
func twoMethodCheckout(f *fixture, p sg.Principal) *sg.Checkout {
	f.t.Helper()
	c := f.create(p, checkout.CreateParams{Price: "20.00", PaymentMethods: []sg.PaymentMethod{sepoliaUSDC, baseSepoliaUSDC}})
	for _, m := range c.Methods {
		if m.IsReserved() {
			f.t.Fatalf("method %v reserved at creation", m.PaymentMethod)
		}
	}
	return c
}

func TestSelectMethod(t *testing.T) {
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	ws := f.addWallet(f.p, "sepolia")
	c := twoMethodCheckout(f, f.p)

	first, err := f.svc.SelectMethod(f.ctx, f.m.ID, c.ID, sepoliaUSDC)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := first.Method(sepoliaUSDC)
	if !m.IsReserved() || m.Address != ws.Address || m.Reserved != f.clock.Now().Unix() || first.Version != 2 {
		t.Fatalf("after select: method %+v version %d, want reserved on %s at version 2", m, first.Version, ws.Address)
	}
	if other, _ := first.Method(baseSepoliaUSDC); other.IsReserved() {
		t.Fatal("selecting sepolia reserved base-sepolia too")
	}
	stored, err := f.svc.Get(f.ctx, f.m.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sm, _ := stored.Method(sepoliaUSDC); sm.Amount == nil || sm.Amount.Cmp(m.Amount) != 0 {
		t.Fatalf("stored method %+v, want amount %v", sm, m.Amount)
	}

	again, err := f.svc.SelectMethod(f.ctx, f.m.ID, c.ID, sepoliaUSDC)
	if err != nil {
		t.Fatal(err)
	}
	if am, _ := again.Method(sepoliaUSDC); am.Amount.Cmp(m.Amount) != 0 || again.Version != 2 {
		t.Fatalf("selecting twice: amount %v version %d, want %v unchanged at version 2", am.Amount, again.Version, m.Amount)
	}
	r, err := f.st.ReservedInWindow(f.ctx, space(c, m), m.Amount, m.Amount, 10)
	if err != nil || len(r) != 1 {
		t.Fatalf("reservations of %v: %v %v, want one", m.Amount, r, err)
	}

	both, err := f.svc.SelectMethod(f.ctx, f.m.ID, c.ID, baseSepoliaUSDC)
	if err != nil {
		t.Fatal(err)
	}
	bm, _ := both.Method(baseSepoliaUSDC)
	sm, _ := both.Method(sepoliaUSDC)
	if !bm.IsReserved() || sm.Amount.Cmp(m.Amount) != 0 || both.Version != 3 {
		t.Fatalf("after the second method: %+v version %d", both.Methods, both.Version)
	}
}

func TestSelectMethodRejects(t *testing.T) {
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	f.addWallet(f.p, "sepolia")
	open := twoMethodCheckout(f, f.p)
	canceled := twoMethodCheckout(f, f.p)
	if _, err := f.svc.Cancel(f.ctx, f.m.ID, canceled.ID); err != nil {
		t.Fatal(err)
	}
	onlyBase := f.create(f.p, checkout.CreateParams{Price: "20.00", PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC}})
	tests := []struct {
		name   string
		id     string
		pm     sg.PaymentMethod
		code   sg.ErrorCode
		reason string
		param  string
	}{
		{name: "method the checkout does not accept", id: onlyBase.ID, pm: sepoliaUSDC, code: sg.EINVALID, reason: "payment_method_not_accepted", param: "payment_method"},
		{name: "unknown method", id: open.ID, pm: sg.PaymentMethod{Chain: "amoy", Token: "USDC"}, code: sg.EINVALID, reason: "payment_method_not_accepted", param: "payment_method"},
		{name: "canceled checkout", id: canceled.ID, pm: sepoliaUSDC, code: sg.ECONFLICT, reason: "checkout_not_open"},
		{name: "unknown checkout", id: sg.NewID(sg.PrefixCheckout, t0), pm: sepoliaUSDC, code: sg.ENOTFOUND, reason: "resource_missing", param: "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.SelectMethod(f.ctx, f.m.ID, tt.id, tt.pm)
			wantReason(t, err, tt.code, tt.reason, tt.param)
		})
	}
	t.Run("past expires_at before the sweeper ran", func(t *testing.T) {
		f.clock.Set(time.Unix(open.ExpiresAt, 0))
		_, err := f.svc.SelectMethod(f.ctx, f.m.ID, open.ID, sepoliaUSDC)
		wantReason(t, err, sg.ECONFLICT, "checkout_not_open", "")
		got, err := f.svc.Get(f.ctx, f.m.ID, open.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := got.Method(sepoliaUSDC); m.IsReserved() || got.Version != 1 {
			t.Fatalf("refused select changed the checkout: %+v version %d", got.Methods, got.Version)
		}
	})
}

// TestSelectMethodConcurrent: 16 customers' browsers (or retries) choosing
// the same method at once end with one reservation, and all see it.
func TestSelectMethodConcurrent(t *testing.T) {
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	f.addWallet(f.p, "sepolia")
	c := twoMethodCheckout(f, f.p)
	const n = 16
	results := make([]*sg.Checkout, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = f.svc.SelectMethod(f.ctx, f.m.ID, c.ID, sepoliaUSDC)
		})
	}
	close(start)
	wg.Wait()
	var amount string
	for i := range n {
		if errs[i] != nil {
			t.Errorf("select %d: %v", i, errs[i])
			continue
		}
		m, _ := results[i].Method(sepoliaUSDC)
		if !m.IsReserved() {
			t.Errorf("select %d returned an unreserved method", i)
			continue
		}
		if amount == "" {
			amount = m.Amount.String()
		} else if m.Amount.String() != amount {
			t.Errorf("select %d returned amount %v, another returned %s", i, m.Amount, amount)
		}
	}
	stored, err := f.svc.Get(f.ctx, f.m.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := stored.Method(sepoliaUSDC)
	if !m.IsReserved() || (amount != "" && m.Amount.String() != amount) || stored.Version != 2 {
		t.Fatalf("stored method %+v version %d, want the returned amount %s at version 2", m, stored.Version, amount)
	}
	r, err := f.st.ReservedInWindow(f.ctx, space(stored, m), units("20000000"), units("20010000"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 1 || r[0].Cmp(m.Amount) != 0 {
		t.Fatalf("reservations %v, want exactly the stored amount %v", r, m.Amount)
	}
}

func TestCancel(t *testing.T) {
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	c := f.create(f.p, checkout.CreateParams{Price: "49.00"})
	f.clock.Advance(time.Minute)
	canceled, err := f.svc.Cancel(f.ctx, f.m.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if canceled.Status != sg.StatusCanceled || canceled.CanceledAt != f.clock.Now().Unix() || canceled.Version != 2 {
		t.Fatalf("canceled checkout: status %s canceled_at %d version %d", canceled.Status, canceled.CanceledAt, canceled.Version)
	}
	evts := f.events(f.m.ID, sg.EventCheckoutCanceled)
	if len(evts) != 1 {
		t.Fatalf("%d checkout.canceled events, want 1", len(evts))
	}
	var data sg.Checkout
	if err := json.Unmarshal(evts[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.ID != c.ID || data.Status != sg.StatusCanceled || evts[0].Created != f.clock.Now().Unix() {
		t.Fatalf("event data id %s status %s created %d, want %s canceled at %d", data.ID, data.Status, evts[0].Created, c.ID, f.clock.Now().Unix())
	}
	// The amount stays reserved so a payment made anyway is matched.
	m := &canceled.Methods[0]
	holder, live, err := f.st.ReservationHolder(f.ctx, space(canceled, m), m.Amount, f.clock.Now())
	if err != nil || holder != c.ID || !live {
		t.Fatalf("reservation after cancel: holder %q live %v err %v", holder, live, err)
	}
	list, _, err := f.svc.List(f.ctx, f.m.ID, store.CheckoutFilter{Status: sg.StatusCanceled, Limit: 10})
	if err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("canceled list %v %v, want the checkout", list, err)
	}

	tests := []struct {
		name   string
		id     string
		code   sg.ErrorCode
		reason string
	}{
		{name: "cancel twice", id: c.ID, code: sg.ECONFLICT, reason: "checkout_not_open"},
		{name: "unknown checkout", id: sg.NewID(sg.PrefixCheckout, t0), code: sg.ENOTFOUND, reason: "resource_missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Cancel(f.ctx, f.m.ID, tt.id)
			if e := sg.ErrorOf(err); e == nil || e.Code != tt.code || e.Reason != tt.reason {
				t.Fatalf("Cancel: %v, want %s %s", err, tt.code, tt.reason)
			}
		})
	}
	if n := len(f.events(f.m.ID, sg.EventCheckoutCanceled)); n != 1 {
		t.Fatalf("%d checkout.canceled events after the refused cancels, want 1", n)
	}
}

func TestExpireDue(t *testing.T) {
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	short := f.create(f.p, checkout.CreateParams{Price: "1.00", ExpiresIn: ptr[int64](300)})
	long := f.create(f.p, checkout.CreateParams{Price: "2.00", ExpiresIn: ptr[int64](600)})
	canceled := f.create(f.p, checkout.CreateParams{Price: "3.00", ExpiresIn: ptr[int64](300)})
	if _, err := f.svc.Cancel(f.ctx, f.m.ID, canceled.ID); err != nil {
		t.Fatal(err)
	}
	type state struct {
		status  sg.CheckoutStatus
		version int64
	}
	steps := []struct {
		name    string
		at      time.Time
		expired int
		want    map[string]state
	}{
		{name: "one second before expiry", at: time.Unix(short.ExpiresAt, 0).Add(-time.Second), expired: 0,
			want: map[string]state{short.ID: {sg.StatusOpen, 1}, long.ID: {sg.StatusOpen, 1}, canceled.ID: {sg.StatusCanceled, 2}}},
		{name: "past the short expiry", at: time.Unix(short.ExpiresAt, 0).Add(time.Second), expired: 1,
			want: map[string]state{short.ID: {sg.StatusExpired, 2}, long.ID: {sg.StatusOpen, 1}, canceled.ID: {sg.StatusCanceled, 2}}},
		{name: "run again", at: time.Unix(short.ExpiresAt, 0).Add(2 * time.Second), expired: 0,
			want: map[string]state{short.ID: {sg.StatusExpired, 2}, long.ID: {sg.StatusOpen, 1}, canceled.ID: {sg.StatusCanceled, 2}}},
		{name: "past the long expiry", at: time.Unix(long.ExpiresAt, 0).Add(time.Second), expired: 1,
			want: map[string]state{short.ID: {sg.StatusExpired, 2}, long.ID: {sg.StatusExpired, 2}, canceled.ID: {sg.StatusCanceled, 2}}},
		{name: "nothing left", at: time.Unix(long.ExpiresAt, 0).Add(time.Hour), expired: 0,
			want: map[string]state{short.ID: {sg.StatusExpired, 2}, long.ID: {sg.StatusExpired, 2}, canceled.ID: {sg.StatusCanceled, 2}}},
	}
	for _, s := range steps {
		f.clock.Set(s.at)
		n, err := f.svc.ExpireDue(f.ctx, 100)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if n != s.expired {
			t.Fatalf("%s: expired %d, want %d", s.name, n, s.expired)
		}
		for id, want := range s.want {
			c, err := f.svc.Get(f.ctx, f.m.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != want.status || c.Version != want.version {
				t.Fatalf("%s: %s is %s at version %d, want %s at version %d", s.name, id, c.Status, c.Version, want.status, want.version)
			}
		}
	}
	evts := f.events(f.m.ID, sg.EventCheckoutExpired)
	var got []string
	for _, e := range evts {
		var c sg.Checkout
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatal(err)
		}
		if c.Status != sg.StatusExpired || c.ExpiredAt != e.Created {
			t.Fatalf("event %s data status %s expired_at %d created %d", e.ID, c.Status, c.ExpiredAt, e.Created)
		}
		got = append(got, c.ID)
	}
	if want := []string{long.ID, short.ID}; !slices.Equal(got, want) {
		t.Fatalf("checkout.expired events for %v, want %v", got, want)
	}
	due, err := f.st.DueExpiries(f.ctx, t0.Add(1000*time.Hour), 100)
	if err != nil || len(due) != 0 {
		t.Fatalf("schedule after sweeping: %v %v, want empty", due, err)
	}
}

func TestList(t *testing.T) {
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	// c[0] oldest, one second apart. c[1] and c[4] canceled; c[2] and c[5]
	// carry order_id A, c[3] order_id B.
	orders := []string{"", "", "A", "B", "", "A", ""}
	var c []*sg.Checkout
	var created []time.Time
	for _, o := range orders {
		f.clock.Advance(time.Second)
		created = append(created, f.clock.Now())
		c = append(c, f.create(f.p, checkout.CreateParams{Price: "10.00", OrderID: o}))
	}
	for _, i := range []int{1, 4} {
		if _, err := f.svc.Cancel(f.ctx, f.m.ID, c[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	id := func(is ...int) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, c[i].ID)
		}
		return out
	}
	tests := []struct {
		name    string
		f       store.CheckoutFilter
		want    []string
		hasMore bool
	}{
		{name: "first page", f: store.CheckoutFilter{Limit: 3}, want: id(6, 5, 4), hasMore: true},
		{name: "second page", f: store.CheckoutFilter{Limit: 3, StartingAfter: c[4].ID}, want: id(3, 2, 1), hasMore: true},
		{name: "last page", f: store.CheckoutFilter{Limit: 3, StartingAfter: c[1].ID}, want: id(0)},
		{name: "back from the last page", f: store.CheckoutFilter{Limit: 3, EndingBefore: c[0].ID}, want: id(3, 2, 1), hasMore: true},
		{name: "back to the first page", f: store.CheckoutFilter{Limit: 3, EndingBefore: c[3].ID}, want: id(6, 5, 4)},
		{name: "everything", f: store.CheckoutFilter{Limit: 100}, want: id(6, 5, 4, 3, 2, 1, 0)},
		{name: "status open", f: store.CheckoutFilter{Limit: 100, Status: sg.StatusOpen}, want: id(6, 5, 3, 2, 0)},
		{name: "status canceled", f: store.CheckoutFilter{Limit: 100, Status: sg.StatusCanceled}, want: id(4, 1)},
		{name: "status canceled, paged", f: store.CheckoutFilter{Limit: 1, Status: sg.StatusCanceled}, want: id(4), hasMore: true},
		{name: "status canceled, after the cursor", f: store.CheckoutFilter{Limit: 1, Status: sg.StatusCanceled, StartingAfter: c[4].ID}, want: id(1)},
		{name: "status expired", f: store.CheckoutFilter{Limit: 100, Status: sg.StatusExpired}, want: id()},
		{name: "order_id A", f: store.CheckoutFilter{Limit: 100, OrderID: "A"}, want: id(5, 2)},
		{name: "order_id B", f: store.CheckoutFilter{Limit: 100, OrderID: "B"}, want: id(3)},
		{name: "order_id A, paged", f: store.CheckoutFilter{Limit: 1, OrderID: "A"}, want: id(5), hasMore: true},
		{name: "order_id A and canceled", f: store.CheckoutFilter{Limit: 100, OrderID: "A", Status: sg.StatusCanceled}, want: id()},
		{name: "unknown order_id", f: store.CheckoutFilter{Limit: 100, OrderID: "Z"}, want: id()},
		{name: "created range", f: store.CheckoutFilter{Limit: 100, CreatedGTE: created[2], CreatedLT: created[5]}, want: id(4, 3, 2)},
		{name: "created gte only", f: store.CheckoutFilter{Limit: 100, CreatedGTE: created[5]}, want: id(6, 5)},
		{name: "created lt only", f: store.CheckoutFilter{Limit: 100, CreatedLT: created[1]}, want: id(0)},
		{name: "created range and status", f: store.CheckoutFilter{Limit: 100, CreatedGTE: created[2], CreatedLT: created[5], Status: sg.StatusOpen}, want: id(3, 2)},
		{name: "created range, paged", f: store.CheckoutFilter{Limit: 2, CreatedGTE: created[2], CreatedLT: created[5]}, want: id(4, 3), hasMore: true},
		{name: "created range, next page", f: store.CheckoutFilter{Limit: 2, CreatedGTE: created[2], CreatedLT: created[5], StartingAfter: c[3].ID}, want: id(2)},
		{name: "live mode is empty", f: store.CheckoutFilter{Limit: 100, Livemode: true}, want: id()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := f.svc.List(f.ctx, f.m.ID, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var g []string
			for _, x := range got {
				g = append(g, x.ID)
			}
			if g == nil {
				g = []string{}
			}
			if !slices.Equal(g, tt.want) || more != tt.hasMore {
				t.Fatalf("List = %v has_more %v, want %v has_more %v", g, more, tt.want, tt.hasMore)
			}
		})
	}

	rejects := []struct {
		name   string
		f      store.CheckoutFilter
		reason string
		param  string
	}{
		{name: "unknown status", f: store.CheckoutFilter{Limit: 10, Status: "done"}, reason: "status_invalid", param: "status"},
		{name: "both cursors", f: store.CheckoutFilter{Limit: 10, StartingAfter: c[1].ID, EndingBefore: c[3].ID}, reason: "cursor_conflict", param: "ending_before"},
		{name: "starting_after of another type", f: store.CheckoutFilter{Limit: 10, StartingAfter: "evt_123"}, reason: "cursor_invalid", param: "starting_after"},
		{name: "ending_before of another type", f: store.CheckoutFilter{Limit: 10, EndingBefore: "pay_123"}, reason: "cursor_invalid", param: "ending_before"},
	}
	for _, tt := range rejects {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.svc.List(f.ctx, f.m.ID, tt.f)
			wantReason(t, err, sg.EINVALID, tt.reason, tt.param)
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	f.addWallet(f.p, "sepolia")
	a := twoMethodCheckout(f, f.p)
	b := f.newMerchant("Other shop")
	pb := sg.Principal{MerchantID: b.ID}
	f.addWallet(pb, "sepolia")
	bOwn := f.create(pb, checkout.CreateParams{Price: "20.00"})

	tests := []struct {
		name string
		call func() error
	}{
		{name: "get", call: func() error { _, err := f.svc.Get(f.ctx, b.ID, a.ID); return err }},
		{name: "cancel", call: func() error { _, err := f.svc.Cancel(f.ctx, b.ID, a.ID); return err }},
		{name: "select a method", call: func() error { _, err := f.svc.SelectMethod(f.ctx, b.ID, a.ID, sepoliaUSDC); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if sg.ErrorCodeOf(err) != sg.ENOTFOUND {
				t.Fatalf("merchant B on A's checkout: %v, want not_found", err)
			}
		})
	}
	got, err := f.svc.Get(f.ctx, f.m.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := got.Method(sepoliaUSDC); got.Status != sg.StatusOpen || got.Version != 1 || m.IsReserved() {
		t.Fatalf("A's checkout changed: status %s version %d methods %+v", got.Status, got.Version, got.Methods)
	}
	listB, _, err := f.svc.List(f.ctx, b.ID, store.CheckoutFilter{Limit: 100})
	if err != nil || len(listB) != 1 || listB[0].ID != bOwn.ID {
		t.Fatalf("B's list %v %v, want only its own checkout", listB, err)
	}
	listA, _, err := f.svc.List(f.ctx, f.m.ID, store.CheckoutFilter{Limit: 100})
	if err != nil || len(listA) != 1 || listA[0].ID != a.ID {
		t.Fatalf("A's list %v %v, want only its own checkout", listA, err)
	}
}
