package catalog_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/catalog"
	"github.com/stablegate/stablegate/store"
)

func TestCreateProductRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tooMany := map[string]string{}
	for i := range sg.MaxMetadataKeys + 1 {
		tooMany[fmt.Sprint("k", i)] = "v"
	}
	for _, tc := range []struct {
		name          string
		params        catalog.ProductParams
		reason, param string
	}{
		{"no name", catalog.ProductParams{Price: ptr("5.00")}, "parameter_missing", "name"},
		{"no price", catalog.ProductParams{Name: ptr("Tee")}, "parameter_missing", "price"},
		{"blank name", catalog.ProductParams{Name: ptr("   "), Price: ptr("5.00")}, "name_invalid", "name"},
		{"name too long", catalog.ProductParams{Name: ptr(strings.Repeat("n", 201)), Price: ptr("5.00")}, "name_invalid", "name"},
		{"description too long", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.00"), Description: ptr(strings.Repeat("d", 2001))}, "description_too_long", "description"},
		{"image over http", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.00"), ImageURL: ptr("http://cdn.example/tee.png")}, "url_invalid", "image_url"},
		{"image not a URL", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.00"), ImageURL: ptr("tee.png")}, "url_invalid", "image_url"},
		{"image javascript", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.00"), ImageURL: ptr("javascript:alert(1)")}, "url_invalid", "image_url"},
		{"image with credentials", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.00"), ImageURL: ptr("https://u:p@cdn.example/t.png")}, "url_invalid", "image_url"},
		{"image too long", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.00"), ImageURL: ptr("https://cdn.example/" + strings.Repeat("a", 2048))}, "url_invalid", "image_url"},
		{"price too precise", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.001")}, "price_too_precise", "price"},
		{"price zero", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("0.00")}, "price_not_positive", "price"},
		{"price negative", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("-5")}, "price_invalid", "price"},
		{"price float-like", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5e2")}, "price_invalid", "price"},
		{"price too large", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("1000000000.01")}, "price_too_large", "price"},
		{"metadata too many keys", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.00"), Metadata: tooMany}, "metadata_too_many_keys", "metadata"},
		{"metadata key too long", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.00"), Metadata: map[string]string{strings.Repeat("k", 41): "v"}}, "metadata_key_invalid", "metadata"},
		{"metadata value too long", catalog.ProductParams{Name: ptr("Tee"), Price: ptr("5.00"), Metadata: map[string]string{"k": strings.Repeat("v", 501)}}, "metadata_value_too_long", "metadata[k]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateProduct(f.ctx, f.p, tc.params)
			wantReason(t, err, sg.EINVALID, tc.reason, tc.param)
		})
	}
	if ps, _, err := f.svc.Products(f.ctx, f.p, store.ListFilter{}); err != nil || len(ps) != 0 {
		t.Fatalf("rejected products were stored: %v %v", ps, err)
	}
}

func TestProductLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	prod := f.product(f.p, catalog.ProductParams{
		Name: ptr("  Tee  "), Description: ptr("Organic cotton"), ImageURL: ptr("https://cdn.example/tee.png"),
		Price: ptr("25"), Metadata: map[string]string{"sku": "tee-l", "color": "red"},
	})
	want := &sg.Product{
		ID: prod.ID, Object: "product", Name: "Tee", Description: "Organic cotton", ImageURL: "https://cdn.example/tee.png",
		Price: "25.00", Currency: "USD", Active: true, Metadata: map[string]string{"sku": "tee-l", "color": "red"},
		Created: t0.Unix(), MerchantID: f.p.MerchantID,
	}
	if !strings.HasPrefix(prod.ID, "prod_") || !reflect.DeepEqual(prod, want) {
		t.Fatalf("created %+v, want %+v", prod, want)
	}
	got, err := f.svc.Product(f.ctx, f.p, prod.ID)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, %v", got, err)
	}

	// A partial update changes only what it names; metadata merges, an
	// empty value deleting its key.
	upd, err := f.svc.UpdateProduct(f.ctx, f.p, prod.ID, catalog.ProductParams{
		Active: ptr(false), Price: ptr("19.9"), Metadata: map[string]string{"color": "", "size": "L"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want.Active, want.Price, want.Metadata = false, "19.90", map[string]string{"sku": "tee-l", "size": "L"}
	if !reflect.DeepEqual(upd, want) {
		t.Fatalf("updated %+v, want %+v", upd, want)
	}
	if got, _ := f.svc.Product(f.ctx, f.p, prod.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
	// A refused update changes nothing.
	_, err = f.svc.UpdateProduct(f.ctx, f.p, prod.ID, catalog.ProductParams{Active: ptr(true), Price: ptr("1.001")})
	wantReason(t, err, sg.EINVALID, "price_too_precise", "price")
	if got, _ := f.svc.Product(f.ctx, f.p, prod.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a refused update %+v, want %+v", got, want)
	}

	// Another merchant and the other mode see nothing.
	other := f.newMerchant("Other")
	live := sg.Principal{MerchantID: f.p.MerchantID, Kind: sg.KeySecret, Livemode: true}
	for name, p := range map[string]sg.Principal{"other merchant": other, "live mode": live} {
		_, err := f.svc.Product(f.ctx, p, prod.ID)
		wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")
		_, err = f.svc.UpdateProduct(f.ctx, p, prod.ID, catalog.ProductParams{Active: ptr(true)})
		wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")
		if ps, _, err := f.svc.Products(f.ctx, p, store.ListFilter{}); err != nil || len(ps) != 0 {
			t.Errorf("%s lists %v, %v", name, ps, err)
		}
	}
	for _, id := range []string{"prod_0000000000000000000000000a", "prod_x:v", "co_x", ""} {
		_, err := f.svc.Product(f.ctx, f.p, id)
		wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")
	}
}

func TestListProducts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ids []string // newest first
	for i := range 5 {
		ids = append([]string{f.product(f.p, catalog.ProductParams{Name: ptr(fmt.Sprint("P", i)), Price: ptr("1.00")}).ID}, ids...)
	}
	for _, tc := range []struct {
		name string
		f    store.ListFilter
		want []string
		more bool
	}{
		{"all", store.ListFilter{}, ids, false},
		{"first page", store.ListFilter{Limit: 2}, ids[:2], true},
		{"after a cursor", store.ListFilter{Limit: 2, StartingAfter: ids[1]}, ids[2:4], true},
		{"last page", store.ListFilter{Limit: 2, StartingAfter: ids[3]}, ids[4:], false},
		{"before a cursor", store.ListFilter{Limit: 2, EndingBefore: ids[3]}, ids[1:3], true},
		{"before the second", store.ListFilter{Limit: 2, EndingBefore: ids[1]}, ids[:1], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, more, err := f.svc.Products(f.ctx, f.p, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.ID)
			}
			if !reflect.DeepEqual(got, tc.want) || more != tc.more {
				t.Fatalf("got %v more=%v, want %v more=%v", got, more, tc.want, tc.more)
			}
		})
	}
}
