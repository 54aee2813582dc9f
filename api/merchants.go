package api

import (
	"maps"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/merchant"
)

func itoa(i int) string { return strconv.Itoa(i) }

func (s *Server) getMerchant(c echo.Context) error {
	p := principal(c)
	m, err := s.merchants.Get(c.Request().Context(), p.MerchantID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m.ViewFor(p.Livemode))
}

// updateMerchantRequest is the body of PATCH /v1/merchant. Settings replace
// the current ones of the key's mode field by field: a test key changes
// test mode's settings only.
type updateMerchantRequest struct {
	Name     *string `json:"name"`
	Settings *struct {
		FingerprintDecimals *int   `json:"fingerprint_decimals"`
		FingerprintSteps    *int   `json:"fingerprint_steps"`
		LateWindowSeconds   *int64 `json:"late_window_seconds"`
		// Confirmations merges into the current overrides: an entry sets a
		// chain's policy, a null entry drops it.
		Confirmations map[string]*sg.Confirmation `json:"confirmations"`
		// AllowedOrigins replaces the list of origins that may embed the
		// checkout widget; [] clears it.
		AllowedOrigins []string `json:"allowed_origins"`
	} `json:"settings"`
	// Branding changes the fields given; an empty string clears one.
	Branding *struct {
		LogoURL      *string `json:"logo_url"`
		AccentColor  *string `json:"accent_color"`
		SupportEmail *string `json:"support_email"`
	} `json:"branding"`
}

func (s *Server) updateMerchant(c echo.Context) error {
	var req updateMerchantRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	cur, err := s.merchants.Get(ctx, p.MerchantID)
	if err != nil {
		return err
	}
	u := merchant.Update{Name: req.Name, Live: p.Livemode}
	if b := req.Branding; b != nil {
		br := cur.Branding
		for dst, src := range map[*string]*string{&br.LogoURL: b.LogoURL, &br.AccentColor: b.AccentColor, &br.SupportEmail: b.SupportEmail} {
			if src != nil {
				*dst = *src
			}
		}
		u.Branding = &br
	}
	if req.Settings != nil {
		st := cur.SettingsFor(p.Livemode)
		if v := req.Settings.FingerprintDecimals; v != nil {
			st.FingerprintDecimals = *v
		}
		if v := req.Settings.FingerprintSteps; v != nil {
			st.FingerprintSteps = *v
		}
		if v := req.Settings.LateWindowSeconds; v != nil {
			st.LateWindowSeconds = *v
		}
		if req.Settings.Confirmations != nil {
			merged := maps.Clone(st.Confirmations) // never write into the cached merchant
			if merged == nil {
				merged = map[string]sg.Confirmation{}
			}
			for chain, o := range req.Settings.Confirmations {
				if o == nil {
					delete(merged, chain)
				} else {
					merged[chain] = *o
				}
			}
			st.Confirmations = merged
		}
		if v := req.Settings.AllowedOrigins; v != nil {
			st.AllowedOrigins = v
		}
		u.Settings = &st
	}
	m, err := s.merchants.Update(ctx, p.MerchantID, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m.ViewFor(p.Livemode))
}

type createWalletRequest struct {
	Chain   string `json:"chain"`
	Address string `json:"address"`
}

func (s *Server) createWallet(c echo.Context) error {
	var req createWalletRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Chain == "" {
		return sg.Errorf(sg.EINVALID, "parameter_missing", "chain", "chain is required")
	}
	if req.Address == "" {
		return sg.Errorf(sg.EINVALID, "parameter_missing", "address", "address is required")
	}
	w, err := s.merchants.AddWallet(c.Request().Context(), principal(c), req.Chain, req.Address)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

// listWallets pages a merchant's wallets newest first like every list. A
// merchant has few wallets, so they are paged in memory.
func (s *Server) listWallets(c echo.Context) error {
	pg, err := pageParams(c)
	if err != nil {
		return err
	}
	ws, err := s.merchants.Wallets(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	// ws is oldest first; keep the window (after, before), newest first.
	var in []*sg.Wallet
	for i := len(ws) - 1; i >= 0; i-- {
		w := ws[i]
		if (pg.after != "" && w.ID >= pg.after) || (pg.before != "" && w.ID <= pg.before) ||
			(!pg.gte.IsZero() && w.Created < pg.gte.Unix()) || (!pg.lt.IsZero() && w.Created >= pg.lt.Unix()) {
			continue
		}
		in = append(in, w)
	}
	more := len(in) > pg.limit
	switch {
	case more && pg.before != "":
		in = in[len(in)-pg.limit:] // the ones just newer than the cursor
	case more:
		in = in[:pg.limit]
	}
	return c.JSON(http.StatusOK, newList("/v1/wallets", in, more))
}

func (s *Server) getWallet(c echo.Context) error {
	w, err := s.merchants.Wallet(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

func (s *Server) deleteWallet(c echo.Context) error {
	w, err := s.merchants.DeleteWallet(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": w.ID, "object": "wallet", "deleted": true})
}

// Admin API, guarded by the operator token.

type adminCreateMerchantRequest struct {
	Name     string `json:"name"`
	Livemode bool   `json:"livemode"`
}

// keyWithSecret is an API key as shown once, at creation.
type keyWithSecret struct {
	*sg.APIKey
	Secret string `json:"secret"`
}

func (s *Server) adminCreateMerchant(c echo.Context) error {
	var req adminCreateMerchantRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	m, err := s.merchants.Create(ctx, req.Name)
	if err != nil {
		return err
	}
	k, secret, err := s.merchants.CreateKey(ctx, m.ID, sg.KeySecret, req.Livemode)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"merchant": m, "api_key": keyWithSecret{k, secret}})
}

func (s *Server) adminListMerchants(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	ms, err := s.merchants.List(c.Request().Context(), c.QueryParam("starting_after"), limit+1)
	if err != nil {
		return err
	}
	more := len(ms) > limit
	if more {
		ms = ms[:limit]
	}
	return c.JSON(http.StatusOK, newList("/admin/v1/merchants", ms, more))
}

func (s *Server) adminGetMerchant(c echo.Context) error {
	m, err := s.merchants.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

type adminCreateKeyRequest struct {
	Kind     sg.KeyKind `json:"kind"`
	Livemode bool       `json:"livemode"`
}

func (s *Server) adminCreateKey(c echo.Context) error {
	var req adminCreateKeyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Kind == "" {
		req.Kind = sg.KeySecret
	}
	k, secret, err := s.merchants.CreateKey(c.Request().Context(), c.Param("id"), req.Kind, req.Livemode)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, keyWithSecret{k, secret})
}

func (s *Server) adminListKeys(c echo.Context) error {
	ks, err := s.merchants.Keys(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList("/admin/v1/merchants/"+c.Param("id")+"/keys", ks, false))
}

func (s *Server) adminRevokeKey(c echo.Context) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	k, err := s.merchants.RevokeKey(c.Request().Context(), "", c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, k)
}
