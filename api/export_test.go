package api

import sg "github.com/stablegate/stablegate"

// RequestBodies maps every operation that decodes a JSON body, in OpenAPI
// form, to the Go value its handler decodes into, so the OpenAPI test can
// compare each documented request schema with the struct field by field.
var RequestBodies = map[string]any{
	"POST /v1/checkouts":                                                 createCheckoutRequest{},
	"POST /v1/checkouts/{id}/cancel":                                     struct{}{},
	"POST /v1/checkouts/{id}/payment_method":                             sg.PaymentMethod{},
	"POST /v1/wallets":                                                   createWalletRequest{},
	"PATCH /v1/merchant":                                                 updateMerchantRequest{},
	"POST /admin/v1/merchants":                                           adminCreateMerchantRequest{},
	"POST /admin/v1/merchants/{id}/keys":                                 adminCreateKeyRequest{},
	"POST /admin/v1/keys/{id}/revoke":                                    struct{}{},
	"POST /v1/payments/{id}/attach":                                      attachRequest{},
	"POST /v1/webhook-endpoints":                                         createEndpointRequest{},
	"PATCH /v1/webhook-endpoints/{id}":                                   updateEndpointRequest{},
	"POST /v1/webhook-endpoints/{id}/rotate-secret":                      rotateSecretRequest{},
	"POST /v1/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver": struct{}{},
	"POST /v1/events/{id}/redeliver":                                     struct{}{},
	"POST /v1/products":                                                  productRequest{},
	"PATCH /v1/products/{id}":                                            productRequest{},
	"POST /v1/payment-links":                                             createLinkRequest{},
	"PATCH /v1/payment-links/{id}":                                       updateLinkRequest{},
	"POST /v1/payment-links/{id}/checkouts":                              struct{}{},
	"POST /pay/{id}/solana-transaction":                                  solanaTransactionRequest{},
	"POST /pay/{id}/method":                                              sg.PaymentMethod{},
}
