package main

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains/evm/devnet"
)

// devPayHandler serves POST /dev/pay in dev mode only: the devnet's faucet
// pays a checkout's reserved devnet amount, as a customer's wallet would, so
// the whole flow can be tried without a wallet. It needs the merchant's
// secret key like the API.
func (a *app) devPayHandler(dn *devnet.Devnet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg}})
		}
		if r.Method != http.MethodPost {
			fail(http.StatusMethodNotAllowed, "POST only")
			return
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		p, err := a.merchants.Authenticate(r.Context(), tok)
		if err != nil {
			fail(http.StatusUnauthorized, "send the merchant's secret key as Authorization: Bearer sk_...")
			return
		}
		var req struct {
			Checkout string `json:"checkout"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
			fail(http.StatusBadRequest, "body must be {\"checkout\": \"co_...\"}")
			return
		}
		co, err := a.checkouts.Get(r.Context(), p.MerchantID, req.Checkout)
		if err != nil {
			fail(http.StatusNotFound, "no such checkout")
			return
		}
		for _, m := range co.Methods {
			if m.Chain != devChainID || !m.IsReserved() {
				continue
			}
			hash, err := dn.Transfer(r.Context(), common.HexToAddress(m.Contract), common.HexToAddress(m.Address), m.Amount)
			if err != nil {
				fail(http.StatusBadGateway, "devnet transfer failed: "+err.Error())
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"tx_hash": hash.Hex(), "amount": sg.FormatUnits(m.Amount, m.Decimals), "token": m.Token})
			return
		}
		fail(http.StatusConflict, "the checkout has no reserved devnet payment method; choose one first")
	})
}
