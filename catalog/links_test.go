package catalog_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/catalog"
	"github.com/stablegate/stablegate/store"
)

var (
	baseSepoliaUSDC = sg.PaymentMethod{Chain: "base-sepolia", Token: "USDC"}
	sepoliaUSDC     = sg.PaymentMethod{Chain: "sepolia", Token: "USDC"}
)

func TestCreateLinkRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	active := f.product(f.p, catalog.ProductParams{Name: ptr("Tee"), Price: ptr("25.00")})
	inactive := f.product(f.p, catalog.ProductParams{Name: ptr("Old tee"), Price: ptr("25.00"), Active: ptr(false)})
	big := f.product(f.p, catalog.ProductParams{Name: ptr("Yacht"), Price: ptr("600000000.00")})
	other := f.newMerchant("Other")
	othersProduct := f.product(other, catalog.ProductParams{Name: ptr("Theirs"), Price: ptr("1.00")})
	liveProduct := f.product(sg.Principal{MerchantID: f.p.MerchantID, Livemode: true}, catalog.ProductParams{Name: ptr("Live"), Price: ptr("1.00")})
	tooMany := map[string]string{}
	for i := range sg.MaxMetadataKeys - 1 {
		tooMany[fmt.Sprint("k", i)] = "v"
	}
	price := func(p catalog.LinkParams) catalog.LinkParams { p.Price = ptr("5.00"); return p }
	for _, tc := range []struct {
		name          string
		params        catalog.LinkParams
		reason, param string
	}{
		{"neither product nor price", catalog.LinkParams{}, "parameter_missing", "price"},
		{"product and price", catalog.LinkParams{Product: &active.ID, Price: ptr("5.00")}, "price_with_product", "price"},
		{"description with product", catalog.LinkParams{Product: &active.ID, Description: ptr("x")}, "description_with_product", "description"},
		{"unknown product", catalog.LinkParams{Product: ptr("prod_0000000000000000000000000a")}, "product_missing", "product"},
		{"another merchant's product", catalog.LinkParams{Product: &othersProduct.ID}, "product_missing", "product"},
		{"a live product in test mode", catalog.LinkParams{Product: &liveProduct.ID}, "product_missing", "product"},
		{"inactive product", catalog.LinkParams{Product: &inactive.ID}, "product_inactive", "product"},
		{"price too precise", catalog.LinkParams{Price: ptr("5.001")}, "price_too_precise", "price"},
		{"price zero", catalog.LinkParams{Price: ptr("0")}, "price_not_positive", "price"},
		{"slug too short", price(catalog.LinkParams{Slug: ptr("ab")}), "slug_invalid", "slug"},
		{"slug too long", price(catalog.LinkParams{Slug: ptr(strings.Repeat("a", 65))}), "slug_invalid", "slug"},
		{"slug upper case", price(catalog.LinkParams{Slug: ptr("Spring-Sale")}), "slug_invalid", "slug"},
		{"slug with a slash", price(catalog.LinkParams{Slug: ptr("a/b/c")}), "slug_invalid", "slug"},
		{"slug with a brace", price(catalog.LinkParams{Slug: ptr("sale}")}), "slug_invalid", "slug"},
		{"quantity zero", price(catalog.LinkParams{Quantity: ptr[int64](0)}), "quantity_invalid", "quantity"},
		{"quantity too large", price(catalog.LinkParams{Quantity: ptr[int64](10_001)}), "quantity_invalid", "quantity"},
		{"price times quantity too large", catalog.LinkParams{Product: &big.ID, Quantity: ptr[int64](2)}, "price_too_large", "quantity"},
		{"max uses negative", price(catalog.LinkParams{MaxUses: ptr[int64](-1)}), "max_uses_invalid", "max_uses"},
		{"description too long", price(catalog.LinkParams{Description: ptr(strings.Repeat("d", 501))}), "description_too_long", "description"},
		{"success url not http", price(catalog.LinkParams{SuccessURL: ptr("ftp://shop.example/ok")}), "url_invalid", "success_url"},
		{"success url relative", price(catalog.LinkParams{SuccessURL: ptr("/ok")}), "url_invalid", "success_url"},
		{"metadata too many keys", price(catalog.LinkParams{Metadata: tooMany}), "metadata_too_many_keys", "metadata"},
		{"method without token", price(catalog.LinkParams{PaymentMethods: []sg.PaymentMethod{{Chain: "base-sepolia"}}}), "parameter_missing", "payment_methods[0]"},
		{"unknown chain", price(catalog.LinkParams{PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC, {Chain: "nochain", Token: "USDC"}}}), "chain_unknown", "payment_methods[1].chain"},
		{"unknown token", price(catalog.LinkParams{PaymentMethods: []sg.PaymentMethod{{Chain: "base-sepolia", Token: "DAI"}}}), "token_unknown", "payment_methods[0].token"},
		{"live chain in test mode", price(catalog.LinkParams{PaymentMethods: []sg.PaymentMethod{{Chain: "base", Token: "USDC"}}}), "payment_method_wrong_mode", "payment_methods[0]"},
		{"no wallet on the chain", price(catalog.LinkParams{PaymentMethods: []sg.PaymentMethod{sepoliaUSDC}}), "payment_method_no_wallet", "payment_methods[0]"},
		{"method twice", price(catalog.LinkParams{PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC, {Chain: "base-sepolia", Token: "usdc"}}}), "payment_method_duplicate", "payment_methods[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateLink(f.ctx, f.p, tc.params)
			wantReason(t, err, sg.EINVALID, tc.reason, tc.param)
		})
	}
	// http is for test mode only.
	live := sg.Principal{MerchantID: f.p.MerchantID, Kind: sg.KeySecret, Livemode: true}
	_, err := f.svc.CreateLink(f.ctx, live, catalog.LinkParams{Price: ptr("5.00"), SuccessURL: ptr("http://shop.example/ok")})
	wantReason(t, err, sg.EINVALID, "url_insecure", "success_url")
	if l := f.link(f.p, catalog.LinkParams{Price: ptr("5.00"), SuccessURL: ptr("http://localhost:3000/ok")}); l.SuccessURL != "http://localhost:3000/ok" {
		t.Fatalf("test-mode http success_url: %+v", l)
	}

	if ls, _, err := f.svc.Links(f.ctx, f.p, store.ListFilter{}); err != nil || len(ls) != 1 {
		t.Fatalf("refused links were stored: %d links, %v", len(ls), err)
	}
	if ls, _, err := f.svc.Links(f.ctx, live, store.ListFilter{}); err != nil || len(ls) != 0 {
		t.Fatalf("refused live links were stored: %d links, %v", len(ls), err)
	}
}

func TestLinkLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	l := f.link(f.p, catalog.LinkParams{
		Price: ptr("5"), Description: ptr("Donation"), PaymentMethods: []sg.PaymentMethod{{Chain: "base-sepolia", Token: "usdc"}},
		Metadata: map[string]string{"campaign": "spring"},
	})
	if !regexp.MustCompile(`^[a-z2-9]{10}$`).MatchString(l.Slug) || !strings.HasPrefix(l.ID, "plink_") {
		t.Fatalf("generated slug %q, id %q", l.Slug, l.ID)
	}
	want := &sg.PaymentLink{
		ID: l.ID, Object: "payment_link", Slug: l.Slug, Price: "5.00", Description: "Donation", Currency: "USD",
		PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC}, Quantity: 1, Active: true,
		Metadata: map[string]string{"campaign": "spring"}, Created: t0.Unix(), MerchantID: f.p.MerchantID,
	}
	if !reflect.DeepEqual(l, want) {
		t.Fatalf("created %+v, want %+v", l, want)
	}
	if got, err := f.svc.Link(f.ctx, f.p, l.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	upd, err := f.svc.UpdateLink(f.ctx, f.p, l.ID, catalog.LinkParams{
		Active: ptr(false), MaxUses: ptr[int64](3), Quantity: ptr[int64](2), PaymentMethods: []sg.PaymentMethod{},
		SuccessURL: ptr("https://shop.example/thanks"), Description: ptr("Tip"), Metadata: map[string]string{"campaign": ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	want.Active, want.MaxUses, want.Quantity, want.PaymentMethods = false, 3, 2, []sg.PaymentMethod{}
	want.SuccessURL, want.Description, want.Metadata = "https://shop.example/thanks", "Tip", map[string]string{}
	if !reflect.DeepEqual(upd, want) {
		t.Fatalf("updated %+v, want %+v", upd, want)
	}
	if got, _ := f.svc.Link(f.ctx, f.p, l.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
	for param, params := range map[string]catalog.LinkParams{
		"slug": {Slug: ptr("new-slug")}, "product": {Product: ptr("prod_x")}, "price": {Price: ptr("1.00")},
	} {
		_, err := f.svc.UpdateLink(f.ctx, f.p, l.ID, params)
		wantReason(t, err, sg.EINVALID, "parameter_immutable", param)
	}
	other := f.newMerchant("Other")
	_, err = f.svc.UpdateLink(f.ctx, other, l.ID, catalog.LinkParams{Active: ptr(true)})
	wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")
	_, err = f.svc.Link(f.ctx, sg.Principal{MerchantID: f.p.MerchantID, Livemode: true}, l.ID)
	wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")
	if got, _ := f.svc.Link(f.ctx, f.p, l.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("changed by another merchant: %+v", got)
	}

	// A product link cannot be given a description of its own.
	prod := f.product(f.p, catalog.ProductParams{Name: ptr("Tee"), Price: ptr("25.00")})
	pl := f.link(f.p, catalog.LinkParams{Product: &prod.ID})
	_, err = f.svc.UpdateLink(f.ctx, f.p, pl.ID, catalog.LinkParams{Description: ptr("x")})
	wantReason(t, err, sg.EINVALID, "description_with_product", "description")
}

// TestSlugsAreUniqueAcrossMerchants: a slug names one link in the whole
// gateway, whichever merchant asks for it.
func TestSlugsAreUniqueAcrossMerchants(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.newMerchant("B")
	a := f.link(f.p, catalog.LinkParams{Slug: ptr("spring-sale"), Price: ptr("5.00")})
	for name, p := range map[string]sg.Principal{"another merchant": b, "the same merchant": f.p, "the other mode": {MerchantID: f.p.MerchantID, Livemode: true}} {
		_, err := f.svc.CreateLink(f.ctx, p, catalog.LinkParams{Slug: ptr("spring-sale"), Price: ptr("9.00")})
		if e := sg.ErrorOf(err); e == nil || e.Code != sg.ECONFLICT || e.Reason != "slug_taken" || e.Param != "slug" {
			t.Errorf("%s took a taken slug: %v", name, err)
		}
	}
	if got, err := f.svc.Page(f.ctx, "spring-sale"); err != nil || got.Link.ID != a.ID || got.Price != "5.00" {
		t.Fatalf("the slug no longer names A's link: %+v, %v", got, err)
	}
	if ls, _, _ := f.svc.Links(f.ctx, b, store.ListFilter{}); len(ls) != 0 {
		t.Fatalf("B stored %d links", len(ls))
	}

	// Concurrent claims of one free slug: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := f.p
			if i%2 == 1 {
				p = b
			}
			_, err := f.svc.CreateLink(f.ctx, p, catalog.LinkParams{Slug: ptr("flash"), Price: ptr("1.00")})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case !sg.HasReason(err, "slug_taken"):
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d links got the slug \"flash\", want 1", won)
	}

	// Generated slugs differ.
	seen := map[string]bool{}
	for range 20 {
		l := f.link(f.p, catalog.LinkParams{Price: ptr("1.00")})
		if seen[l.Slug] {
			t.Fatalf("slug %q generated twice", l.Slug)
		}
		seen[l.Slug] = true
	}
}

// TestOpenProductLink: a checkout for unit price times quantity, described
// by the product, with the link's method reserved at once, its success URL
// and metadata naming the link and product.
func TestOpenProductLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	f.addWallet(f.p, "sepolia")
	prod := f.product(f.p, catalog.ProductParams{Name: ptr("Tee"), Price: ptr("12.50")})
	l := f.link(f.p, catalog.LinkParams{
		Product: &prod.ID, Quantity: ptr[int64](3), PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC},
		SuccessURL: ptr("https://shop.example/thanks"), Metadata: map[string]string{"campaign": "spring", "payment_link": "mine"},
	})
	co, err := f.svc.Open(f.ctx, l.Slug)
	if err != nil {
		t.Fatal(err)
	}
	if co.Price != "37.50" || co.Description != "Tee × 3" || co.SuccessURL != "https://shop.example/thanks" || co.Livemode ||
		co.MerchantID != f.p.MerchantID || co.Status != sg.StatusOpen {
		t.Fatalf("checkout %+v", co)
	}
	if want := map[string]string{"campaign": "spring", "payment_link": l.ID, "product": prod.ID}; !reflect.DeepEqual(co.Metadata, want) {
		t.Fatalf("metadata %v, want %v", co.Metadata, want)
	}
	if len(co.Methods) != 1 || co.Methods[0].PaymentMethod != baseSepoliaUSDC || !co.Methods[0].IsReserved() {
		t.Fatalf("the only method is not reserved at once: %+v", co.Methods)
	}
	// The product's current price is used, and a second visit gets a
	// checkout of its own.
	if _, err := f.svc.UpdateProduct(f.ctx, f.p, prod.ID, catalog.ProductParams{Price: ptr("10.00")}); err != nil {
		t.Fatal(err)
	}
	f.tick()
	co2, err := f.svc.Open(f.ctx, l.Slug)
	if err != nil {
		t.Fatal(err)
	}
	if co2.ID == co.ID || co2.Price != "30.00" {
		t.Fatalf("second visit: %+v", co2)
	}
	if n := f.uses(l); n != 2 {
		t.Fatalf("uses %d, want 2", n)
	}

	// Without payment methods the checkout takes every method the merchant
	// has a wallet for, none reserved yet.
	adhoc := f.link(f.p, catalog.LinkParams{Price: ptr("7"), Description: ptr("Donation")})
	co3, err := f.svc.Open(f.ctx, adhoc.Slug)
	if err != nil {
		t.Fatal(err)
	}
	if co3.Price != "7.00" || co3.Description != "Donation" || len(co3.Methods) != 2 || co3.Methods[0].IsReserved() || co3.Methods[1].IsReserved() {
		t.Fatalf("ad-hoc checkout %+v", co3)
	}
	if want := map[string]string{"payment_link": adhoc.ID}; !reflect.DeepEqual(co3.Metadata, want) {
		t.Fatalf("metadata %v, want %v", co3.Metadata, want)
	}
	if got := len(f.checkoutsOf(f.p)); got != 3 {
		t.Fatalf("%d checkouts stored, want 3", got)
	}
}

// TestOpenRefuses: an unknown, inactive or exhausted link, or one whose
// product became inactive, opens nothing and takes no use.
func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	prod := f.product(f.p, catalog.ProductParams{Name: ptr("Tee"), Price: ptr("12.50")})
	pl := f.link(f.p, catalog.LinkParams{Product: &prod.ID})
	closed := f.link(f.p, catalog.LinkParams{Price: ptr("1.00"), Active: ptr(false)})
	once := f.link(f.p, catalog.LinkParams{Price: ptr("1.00"), MaxUses: ptr[int64](1)})
	if _, err := f.svc.Open(f.ctx, once.Slug); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateProduct(f.ctx, f.p, prod.ID, catalog.ProductParams{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, slug    string
		code          sg.ErrorCode
		reason, param string
	}{
		{"unknown", "no-such-link", sg.ENOTFOUND, "resource_missing", "slug"},
		{"not a slug", "No Such/Link", sg.ENOTFOUND, "resource_missing", "slug"},
		{"inactive", closed.Slug, sg.ECONFLICT, "link_inactive", ""},
		{"exhausted", once.Slug, sg.ECONFLICT, "link_exhausted", ""},
		{"inactive product", pl.Slug, sg.ECONFLICT, "link_inactive", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Open(f.ctx, tc.slug)
			wantReason(t, err, tc.code, tc.reason, tc.param)
		})
	}
	if got := len(f.checkoutsOf(f.p)); got != 1 {
		t.Fatalf("%d checkouts stored, want the one of the first visit", got)
	}
	for l, want := range map[*sg.PaymentLink]int64{pl: 0, closed: 0, once: 1} {
		if n := f.uses(l); n != want {
			t.Errorf("link %s: uses %d, want %d", l.Slug, n, want)
		}
	}
	// Reactivated, both open again; a raised limit makes room.
	if _, err := f.svc.UpdateProduct(f.ctx, f.p, prod.ID, catalog.ProductParams{Active: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Open(f.ctx, pl.Slug); err != nil {
		t.Fatalf("reactivated product: %v", err)
	}
	if _, err := f.svc.UpdateLink(f.ctx, f.p, once.ID, catalog.LinkParams{MaxUses: ptr[int64](2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Open(f.ctx, once.Slug); err != nil {
		t.Fatalf("raised max_uses: %v", err)
	}
	if n := f.uses(once); n != 2 {
		t.Fatalf("uses %d, want 2", n)
	}
}

// TestOpenGivesBackUseOnFailure: when the checkout cannot be created (the
// merchant deleted the wallet of the link's only method), the use is given
// back, so uses count checkouts opened.
func TestOpenGivesBackUseOnFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.addWallet(f.p, "base-sepolia")
	l := f.link(f.p, catalog.LinkParams{Price: ptr("1.00"), MaxUses: ptr[int64](1), PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC}})
	if _, err := f.merchants.DeleteWallet(f.ctx, f.p, w.ID); err != nil {
		t.Fatal(err)
	}
	f.st.SetMerchantCacheTTL(0)
	_, err := f.svc.Open(f.ctx, l.Slug)
	wantReason(t, err, sg.EINVALID, "payment_method_no_wallet", "payment_methods[0]")
	if n := f.uses(l); n != 0 {
		t.Fatalf("uses %d after a failed open, want 0", n)
	}
	f.addWallet(f.p, "base-sepolia")
	if _, err := f.svc.Open(f.ctx, l.Slug); err != nil {
		t.Fatalf("the one use was not given back: %v", err)
	}
}

// TestOpenMaxUsesConcurrent: 50 visitors at once on a link with max_uses
// 10 open exactly 10 checkouts.
func TestOpenMaxUsesConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addWallet(f.p, "base-sepolia")
	l := f.link(f.p, catalog.LinkParams{Price: ptr("20.00"), MaxUses: ptr[int64](10)})
	var wg sync.WaitGroup
	var mu sync.Mutex
	opened, exhausted := map[string]bool{}, 0
	start := make(chan struct{})
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			co, err := f.svc.Open(f.ctx, l.Slug)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				opened[co.ID] = true
			case sg.HasReason(err, "link_exhausted"):
				exhausted++
			default:
				t.Errorf("open: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(opened) != 10 || exhausted != 40 {
		t.Fatalf("%d checkouts opened and %d refused, want 10 and 40", len(opened), exhausted)
	}
	stored := f.checkoutsOf(f.p)
	if len(stored) != 10 {
		t.Fatalf("%d checkouts stored, want 10", len(stored))
	}
	for _, co := range stored {
		if !opened[co.ID] || co.Metadata["payment_link"] != l.ID || !co.Methods[0].IsReserved() {
			t.Errorf("stored checkout %s: %+v", co.ID, co)
		}
	}
	if n := f.uses(l); n != 10 {
		t.Fatalf("uses %d, want 10", n)
	}
}

func TestAllowOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	l := f.link(f.p, catalog.LinkParams{Price: ptr("1.00")})
	f.clock.Advance(15 * time.Second) // t0 starts a minute
	for i := 1; i <= 30; i++ {
		if _, err := f.svc.AllowOpen(f.ctx, l.Slug, "203.0.113.7"); err != nil {
			t.Fatalf("visit %d: %v", i, err)
		}
	}
	retry, err := f.svc.AllowOpen(f.ctx, l.Slug, "203.0.113.7")
	wantReason(t, err, sg.ERATELIMITED, "rate_limited", "")
	if want := t0.Add(time.Minute).Sub(f.clock.Now()); retry != want {
		t.Fatalf("retry after %v, want the %v left of the minute", retry, want)
	}
	// Other clients and other links have budgets of their own; an IPv6
	// /64 is one client.
	for _, c := range []struct{ slug, client string }{{l.Slug, "203.0.113.8"}, {"other-link", "203.0.113.7"}, {l.Slug, "2001:db8::1"}} {
		if _, err := f.svc.AllowOpen(f.ctx, c.slug, c.client); err != nil {
			t.Errorf("%s from %s: %v", c.slug, c.client, err)
		}
	}
	for i := 2; i <= 30; i++ {
		if _, err := f.svc.AllowOpen(f.ctx, l.Slug, fmt.Sprintf("2001:db8::%x", i)); err != nil {
			t.Fatalf("IPv6 visit %d: %v", i, err)
		}
	}
	_, err = f.svc.AllowOpen(f.ctx, l.Slug, "2001:db8::ffff:1")
	wantReason(t, err, sg.ERATELIMITED, "rate_limited", "")
	// The next minute starts afresh.
	f.clock.Advance(retry)
	if _, err := f.svc.AllowOpen(f.ctx, l.Slug, "203.0.113.7"); err != nil {
		t.Fatalf("next minute: %v", err)
	}
}
