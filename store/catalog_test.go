package store_test

import (
	"context"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

func wantStoreError(t *testing.T, err error, code sg.ErrorCode, reason string) {
	t.Helper()
	if e := sg.ErrorOf(err); e == nil || e.Code != code || e.Reason != reason {
		t.Fatalf("error %v, want %s %s", err, code, reason)
	}
}

func newLink(merchantID, slug string, created time.Time) *sg.PaymentLink {
	return &sg.PaymentLink{
		ID: sg.NewID(sg.PrefixLink, created), Object: "payment_link", Slug: slug, Price: "1.00", Currency: "USD",
		PaymentMethods: []sg.PaymentMethod{}, Quantity: 1, Active: true, Metadata: map[string]string{}, MerchantID: merchantID,
		URL: "https://not.stored/l/" + slug, Uses: 7,
	}
}

// TestSlugClaims: a slug held by a link is taken; a claim left by a link
// that was never written is taken over once stale, and names no link
// meanwhile.
func TestSlugClaims(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	l := newLink("mer_a", "spring", time.Now())
	if err := st.CreatePaymentLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	got, err := st.PaymentLinkBySlug(ctx, "spring")
	if err != nil || got.ID != l.ID || got.MerchantID != "mer_a" || got.URL != "" || got.Uses != 0 {
		t.Fatalf("by slug: %+v, %v (url and uses are not stored)", got, err)
	}
	wantStoreError(t, st.CreatePaymentLink(ctx, newLink("mer_b", "spring", time.Now())), sg.ECONFLICT, "slug_taken")

	// Claims without a link: a fresh one (a creation in progress) holds,
	// a stale one is taken over.
	rdb := st.Client()
	fresh := newLink("mer_a", "fresh", time.Now())
	stale := newLink("mer_a", "stale", time.Now().Add(-2*time.Minute))
	for _, half := range []*sg.PaymentLink{fresh, stale} {
		if err := rdb.Set(ctx, st.Keys().PaymentLinkSlug(half.Slug), half.MerchantID+" "+half.ID, 0).Err(); err != nil {
			t.Fatal(err)
		}
		_, err := st.PaymentLinkBySlug(ctx, half.Slug)
		wantStoreError(t, err, sg.ENOTFOUND, "resource_missing")
	}
	wantStoreError(t, st.CreatePaymentLink(ctx, newLink("mer_b", "fresh", time.Now())), sg.ECONFLICT, "slug_taken")
	taker := newLink("mer_b", "stale", time.Now())
	if err := st.CreatePaymentLink(ctx, taker); err != nil {
		t.Fatalf("stale claim not taken over: %v", err)
	}
	if got, err := st.PaymentLinkBySlug(ctx, "stale"); err != nil || got.ID != taker.ID || got.MerchantID != "mer_b" {
		t.Fatalf("by slug after the takeover: %+v, %v", got, err)
	}
}

// TestTakeLinkUse: uses are taken while the link and its product are active
// and below max uses, and given back.
func TestTakeLinkUse(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	prod := &sg.Product{ID: sg.NewID(sg.PrefixProduct, time.Now()), Object: "product", Name: "Tee", Price: "1.00", Currency: "USD", Active: true, MerchantID: "mer_a"}
	if err := st.CreateProduct(ctx, prod); err != nil {
		t.Fatal(err)
	}
	l := newLink("mer_a", "tee", time.Now())
	l.Product, l.Price, l.MaxUses = prod.ID, "", 2
	if err := st.CreatePaymentLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	for want := int64(1); want <= 2; want++ {
		if n, err := st.TakeLinkUse(ctx, l); err != nil || n != want {
			t.Fatalf("take %d: %d, %v", want, n, err)
		}
	}
	_, err := st.TakeLinkUse(ctx, l)
	wantStoreError(t, err, sg.ECONFLICT, "link_exhausted")
	if err := st.ReturnLinkUse(ctx, l); err != nil {
		t.Fatal(err)
	}
	if got, _, err := st.PaymentLink(ctx, "mer_a", l.ID); err != nil || got.Uses != 1 {
		t.Fatalf("uses after a return: %+v, %v", got, err)
	}

	_, pv, err := st.Product(ctx, "mer_a", prod.ID)
	if err != nil {
		t.Fatal(err)
	}
	prod.Active = false
	if _, err := st.UpdateProduct(ctx, prod, pv); err != nil {
		t.Fatal(err)
	}
	_, err = st.TakeLinkUse(ctx, l)
	wantStoreError(t, err, sg.ECONFLICT, "link_inactive")
	_, err = st.UpdateProduct(ctx, prod, pv) // the version read is gone
	wantStoreError(t, err, sg.ECONFLICT, "product_changed")

	_, lv, err := st.PaymentLink(ctx, "mer_a", l.ID)
	if err != nil {
		t.Fatal(err)
	}
	l.Product, l.Price, l.Active = "", "1.00", false
	if _, err := st.UpdatePaymentLink(ctx, l, lv); err != nil {
		t.Fatal(err)
	}
	_, err = st.TakeLinkUse(ctx, l)
	wantStoreError(t, err, sg.ECONFLICT, "link_inactive")
	_, err = st.TakeLinkUse(ctx, newLink("mer_a", "gone", time.Now()))
	wantStoreError(t, err, sg.ENOTFOUND, "resource_missing")
	// Ids addressing the state fields beside a record are no record.
	for _, id := range []string{l.ID + ":uses", l.ID + ":v"} {
		_, _, err := st.PaymentLink(ctx, "mer_a", id)
		wantStoreError(t, err, sg.ENOTFOUND, "resource_missing")
	}
	if ls, _, err := st.ListPaymentLinks(ctx, "mer_a", false, store.ListFilter{Limit: 10}); err != nil || len(ls) != 1 || ls[0].Uses != 1 {
		t.Fatalf("list: %+v, %v", ls, err)
	}
}
