package checkout

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	solanago "github.com/gagliardetto/solana-go"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/store"
)

// PublicStore is what the public checkout service needs from the store.
// Lookups return not_found.
type PublicStore interface {
	CheckoutByID(ctx context.Context, id string) (*sg.Checkout, error)
	Merchant(ctx context.Context, id string) (*sg.Merchant, error)
	Payment(ctx context.Context, merchantID, id string) (*sg.Payment, error)
	ChainHead(ctx context.Context, chain string) (uint64, bool, error)
	CountWindow(ctx context.Context, subject string, window time.Duration, now time.Time) (int64, time.Time, error)
}

var _ PublicStore = (*store.Store)(nil)

// PublicConfig tunes the public checkout service.
type PublicConfig struct {
	// SelectLimit is how many payment method choices one client (an IP
	// address, IPv6 by /64) may make per SelectWindow, over all checkouts:
	// each choice may reserve a fingerprinted amount, so a client cannot
	// use a price's amounts up by opening checkouts. 0 disables the limit.
	// Default 20.
	SelectLimit int
	// SelectWindow is the fixed window SelectLimit counts in. Default 1 min.
	SelectWindow time.Duration
	// WalletRPCURLs are public JSON-RPC endpoints by chain registry id,
	// handed to a browser wallet that does not know a chain yet
	// (wallet_addEthereumChain). Default: the built-in chains' endpoints,
	// which are public. The registry's configured endpoints are never
	// shown: they often embed a provider's API key.
	WalletRPCURLs map[string][]string
	// Blockhash gives the recent blockhash of a Solana chain that the
	// transactions of "pay with wallet" on Solana are built on; nil turns
	// that button off (the QR code and the wallet link still work).
	// Default nil; cmd/stablegate sets solana.Blockhashes' Latest.
	Blockhash BlockhashFunc
	// TransactionLimit is how many Solana payment transactions one client
	// (as for SelectLimit) may ask for per TransactionWindow, over all
	// checkouts: each may cost an RPC call to the chain's node. 0 disables
	// the limit. Default 30.
	TransactionLimit int
	// TransactionWindow is the fixed window TransactionLimit counts in.
	// Default 1 min.
	TransactionWindow time.Duration
}

// BlockhashFunc returns a recent blockhash of a Solana chain in base58,
// one the chain's node still accepts transactions with for most of a
// minute. There is no default: a Public without one builds no Solana
// transactions.
type BlockhashFunc func(ctx context.Context, chain *chains.Chain) (string, error)

// DefaultPublicConfig returns the defaults documented on PublicConfig.
func DefaultPublicConfig() PublicConfig {
	rpcs := map[string][]string{}
	for _, c := range chains.Builtin().Chains() {
		if c.Kind == chains.KindEVM {
			rpcs[c.ID] = append([]string(nil), c.RPCURLs...)
		}
	}
	return PublicConfig{
		SelectLimit: 20, SelectWindow: time.Minute, WalletRPCURLs: rpcs,
		TransactionLimit: 30, TransactionWindow: time.Minute,
	}
}

// Public is the checkout as its customer sees it on the hosted payment
// page: found by its id alone, without an API key, and showing only what
// the customer needs. The id is the capability: it is unguessable (80
// random bits) and only the merchant hands it out.
type Public struct {
	store     PublicStore
	checkouts *Service
	cfg       PublicConfig
	// Branding maps a merchant to what the page shows of it; the default
	// is DefaultBranding.
	Branding BrandingFunc
}

// NewPublic returns the public checkout service; it chooses methods through
// checkouts, so the rules of SelectMethod apply unchanged.
func NewPublic(st PublicStore, checkouts *Service, cfg PublicConfig) *Public {
	if cfg.SelectWindow <= 0 {
		cfg.SelectWindow = time.Minute
	}
	if cfg.TransactionWindow <= 0 {
		cfg.TransactionWindow = time.Minute
	}
	return &Public{store: st, checkouts: checkouts, cfg: cfg, Branding: DefaultBranding}
}

// Page states beyond the checkout statuses: an exception that changes what
// the customer should do is shown as its own state.
const (
	StateUnderpaid = "underpaid"
	StateOverpaid  = "overpaid"
	StatePaidLate  = "paid_late"
)

// PublicView is what anyone holding a checkout's id may see of it, served
// as JSON and pushed to the page on every change. It holds nothing private:
// no metadata, customer email, order id, merchant id or cancel URL, and
// nothing about other checkouts. Every field is always present.
type PublicView struct {
	ID       string            `json:"id"`
	Livemode bool              `json:"livemode"`
	Status   sg.CheckoutStatus `json:"status"`
	// Exception qualifies a payment, as on the checkout.
	Exception sg.Exception `json:"exception"`
	// State is what the page shows: the status, "expired" for an open
	// checkout past its expiry that the sweeper has not reached yet, or
	// underpaid, overpaid or paid_late.
	State string `json:"state"`
	// Final is true once nothing can change any more: paid, or past the
	// late-payment window. The page stops listening then.
	Final          bool   `json:"final"`
	Price          string `json:"price"`
	Currency       string `json:"currency"`
	AmountDue      string `json:"amount_due"`
	AmountReceived string `json:"amount_received"`
	// Method is the chosen method: the one paid with, else the one the
	// customer chose last; nil before any is chosen.
	Method    *PublicMethod `json:"payment_method"`
	ExpiresAt int64         `json:"expires_at"`
	PaidAt    int64         `json:"paid_at"`
	// Payment is the transfer settling the checkout; nil before one is seen.
	Payment    *PublicPayment `json:"payment"`
	SuccessURL string         `json:"success_url"`
}

// PublicMethod is a chosen payment method with its reserved amount.
type PublicMethod struct {
	Chain           string `json:"chain"`
	Token           string `json:"token"`
	ChainName       string `json:"chain_name"`
	Address         string `json:"address"`
	Amount          string `json:"amount"`
	AmountBaseUnits string `json:"amount_base_units"`
	URI             string `json:"payment_uri"`

	// AmountHead and AmountTail split Amount after the cents, so the page
	// can emphasise the fingerprint digits that tell this payment apart:
	// "50.00" and "012".
	AmountHead string `json:"-"`
	AmountTail string `json:"-"`
	// FeeClass is chains.FeeLow, FeeMedium or FeeHigh.
	FeeClass string `json:"-"`
	// NativeSymbol is the gas token the customer also needs.
	NativeSymbol string `json:"-"`
	// Wallet is what a browser wallet needs to pay; nil off EVM chains.
	Wallet *WalletRequest `json:"-"`
	// SolanaWallet is what a Solana browser wallet needs to pay; nil off
	// Solana and when the service has no PublicConfig.Blockhash.
	SolanaWallet *SolanaWalletRequest `json:"-"`
}

// SolanaWalletRequest is what the page needs to pay with a Solana browser
// wallet: the chain as wallets name it, and the Solana Pay transaction
// request that answers the payment transaction for the wallet's account.
type SolanaWalletRequest struct {
	// Chain is the Wallet Standard chain id (see SolanaWalletChain).
	Chain string `json:"chain"`
	// TransactionURL is the path of the checkout's transaction request,
	// naming the method: POST {"account": "<wallet>"} answers a
	// SolanaTransaction.
	TransactionURL string `json:"transaction_url"`
}

// SolanaWalletChain returns the Wallet Standard id of a Solana chain of
// the registry: "solana:mainnet" for solana, "solana:devnet" for
// solana-devnet, and "solana:localnet" for any other (a custom chain, such
// as a local validator), which is what wallets call a cluster they do not
// know by name.
func SolanaWalletChain(id string) string {
	switch id {
	case "solana":
		return "solana:mainnet"
	case "solana-devnet":
		return "solana:devnet"
	}
	return "solana:localnet"
}

// WalletRequest is what an injected EIP-1193 wallet needs to pay: the
// chain to switch to (or add) and the ERC-20 transfer to send.
type WalletRequest struct {
	// ChainID is the EVM chain id in 0x-hex, as wallets take it.
	ChainID      string   `json:"chain_id"`
	ChainName    string   `json:"chain_name"`
	NativeSymbol string   `json:"native_symbol"`
	RPCURLs      []string `json:"rpc_urls"`
	// ExplorerURL is the explorer's origin, "" when the chain has none.
	ExplorerURL string `json:"explorer_url"`
	Contract    string `json:"contract"`
	To          string `json:"to"`
	// Amount is in base units, a decimal integer.
	Amount string `json:"amount"`
}

// PublicPayment is the transfer that settles (or is settling) a checkout.
type PublicPayment struct {
	Chain       string `json:"chain"`
	Token       string `json:"token"`
	TxHash      string `json:"tx_hash"`
	ExplorerURL string `json:"explorer_url"`
	Amount      string `json:"amount"`
	BlockTime   int64  `json:"block_time"`
	// Confirmations counts blocks from the transfer's own to the watcher's
	// head, up to ConfirmationsRequired. Both are 0 when the policy waits
	// for a finality tag rather than a depth, which has no count to show.
	Confirmations         uint64 `json:"confirmations"`
	ConfirmationsRequired uint64 `json:"confirmations_required"`
}

// PublicPage is everything the hosted page renders.
type PublicPage struct {
	View        *PublicView
	Merchant    PublicMerchant
	Description string
	// Options are the checkout's accepted methods, in its order.
	Options []PublicOption
	// Now is the server's time, so the countdown ignores a wrong clock.
	Now int64
	// AllowedOrigins are the merchant's origins (of the checkout's mode)
	// that may embed the page with the checkout widget.
	AllowedOrigins []string
}

// PublicMerchant is what the page shows of the merchant.
type PublicMerchant struct {
	Name         string
	LogoURL      string
	AccentColor  string
	SupportEmail string
}

// PublicOption is one accepted method in the page's picker.
type PublicOption struct {
	Chain     string
	Token     string
	ChainName string
	// FeeClass is chains.FeeLow, FeeMedium or FeeHigh.
	FeeClass string
	// Selected marks the method of View.Method.
	Selected bool
}

// BrandingFunc returns what the page shows of a merchant besides its name.
type BrandingFunc func(m *sg.Merchant) PublicMerchant

// DefaultBranding shows the merchant's name and its sg.Branding.
func DefaultBranding(m *sg.Merchant) PublicMerchant {
	return PublicMerchant{
		Name: m.Name, LogoURL: m.Branding.LogoURL, AccentColor: m.Branding.AccentColor, SupportEmail: m.Branding.SupportEmail,
	}
}

// Page returns the hosted page of a checkout. want is the method the
// customer just chose, shown when it is reserved; nil shows the default
// (see PublicView.Method).
func (p *Public) Page(ctx context.Context, id string, want *sg.PaymentMethod) (*PublicPage, error) {
	c, err := p.store.CheckoutByID(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err := p.store.Merchant(ctx, c.MerchantID)
	if err != nil {
		return nil, fmt.Errorf("load merchant: %w", err)
	}
	v, err := p.view(ctx, c, m, want)
	if err != nil {
		return nil, err
	}
	page := &PublicPage{View: v, Merchant: p.Branding(m), Description: c.Description, Now: p.checkouts.now().Unix()}
	page.AllowedOrigins = m.SettingsFor(c.Livemode).AllowedOrigins
	for _, cm := range c.Methods {
		ch, ok := p.checkouts.registry.Chain(cm.Chain)
		if !ok {
			continue // disabled since: it cannot be paid or watched
		}
		page.Options = append(page.Options, PublicOption{
			Chain: cm.Chain, Token: cm.Token, ChainName: ch.Name, FeeClass: ch.FeeClass,
			Selected: v.Method != nil && v.Method.Chain == cm.Chain && v.Method.Token == cm.Token,
		})
	}
	return page, nil
}

// View returns the public view of a checkout.
func (p *Public) View(ctx context.Context, id string) (*PublicView, error) {
	c, err := p.store.CheckoutByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return p.view(ctx, c, nil, nil)
}

// Allow counts a method choice of client (its network address) and
// returns how long to wait when it is over the limit, 0 when it may go
// ahead.
func (p *Public) Allow(ctx context.Context, client string) (time.Duration, error) {
	return p.allow(ctx, "select", client, p.cfg.SelectLimit, p.cfg.SelectWindow)
}

// AllowTransaction counts a Solana transaction request of client, as
// Allow counts method choices but under TransactionLimit.
func (p *Public) AllowTransaction(ctx context.Context, client string) (time.Duration, error) {
	return p.allow(ctx, "solana-transaction", client, p.cfg.TransactionLimit, p.cfg.TransactionWindow)
}

// allow counts one request of kind by client in a fixed window and returns
// how long to wait when that is over limit, 0 when it may go ahead.
func (p *Public) allow(ctx context.Context, kind, client string, limit int, window time.Duration) (time.Duration, error) {
	if limit <= 0 {
		return 0, nil
	}
	sum := sha256.Sum256([]byte(kind + " " + sg.ClientKey(client)))
	now := p.checkouts.now()
	n, end, err := p.store.CountWindow(ctx, hex.EncodeToString(sum[:16]), window, now)
	if err != nil {
		return 0, err
	}
	if n <= int64(limit) {
		return 0, nil
	}
	return max(time.Second, end.Sub(now)), nil
}

// Select reserves the amount of one of the checkout's accepted methods, as
// the customer chooses it, and returns the view showing it. It changes
// nothing else, and choosing a reserved method again returns the same
// amount. Errors: not_found for an unknown checkout; invalid
// "payment_method_not_accepted" (param "chain" or "token") for a method
// the checkout does not accept; conflict "checkout_not_open" unless the
// checkout is open and not expired.
func (p *Public) Select(ctx context.Context, id string, pm sg.PaymentMethod) (*PublicView, error) {
	c, err := p.store.CheckoutByID(ctx, id)
	if err != nil {
		return nil, err
	}
	accepted, err := acceptedMethod(c, pm)
	if err != nil {
		return nil, err
	}
	if c.Status != sg.StatusOpen || p.checkouts.now().Unix() >= c.ExpiresAt {
		return nil, sg.Errorf(sg.ECONFLICT, "checkout_not_open", "", "a payment method can only be chosen while the checkout is open")
	}
	c, err = p.checkouts.SelectMethod(ctx, c.MerchantID, c.ID, accepted)
	if err != nil {
		return nil, err
	}
	return p.view(ctx, c, nil, &accepted)
}

// acceptedMethod returns the checkout's accepted method that pm names, the
// token's case ignored as the registry ignores it.
func acceptedMethod(c *sg.Checkout, pm sg.PaymentMethod) (sg.PaymentMethod, error) {
	chainKnown := false
	for _, m := range c.Methods {
		if m.Chain != pm.Chain {
			continue
		}
		chainKnown = true
		if strings.EqualFold(m.Token, pm.Token) {
			return m.PaymentMethod, nil
		}
	}
	param := "chain"
	if chainKnown {
		param = "token"
	}
	return sg.PaymentMethod{}, invalid("payment_method_not_accepted", param, "%s on %s is not a payment method of this checkout", pm.Token, pm.Chain)
}

// view builds the public view of c. want is preferred as the chosen method
// while nothing is paid and it is reserved. m is c's merchant, nil to have
// it read when needed: only a payment's confirmation policy needs it, so a
// poll of an unpaid checkout reads one record.
func (p *Public) view(ctx context.Context, c *sg.Checkout, m *sg.Merchant, want *sg.PaymentMethod) (*PublicView, error) {
	now := p.checkouts.now().Unix()
	v := &PublicView{
		ID: c.ID, Livemode: c.Livemode, Status: c.Status, Exception: c.Exception,
		State: State(c, now), Final: c.Status == sg.StatusPaid || now >= c.LateUntil,
		Price: c.Price, Currency: c.Currency, AmountDue: c.AmountDue, AmountReceived: c.AmountReceived,
		ExpiresAt: c.ExpiresAt, PaidAt: c.PaidAt, SuccessURL: c.SuccessURL,
	}
	if cm := chosenMethod(c, want); cm != nil {
		v.Method = p.publicMethod(c.ID, cm)
	}
	if c.PaidWith != nil {
		pay, err := p.settlingPayment(ctx, c, m)
		if err != nil {
			return nil, err
		}
		v.Payment = pay
	}
	return v, nil
}

// State returns what the payment page shows for a checkout at time now
// (unix seconds); see PublicView.State.
func State(c *sg.Checkout, now int64) string {
	switch {
	case c.Status == sg.StatusPaid && c.Exception == sg.ExceptionOverpaid:
		return StateOverpaid
	case c.Status == sg.StatusPaid && c.Exception == sg.ExceptionPaidLate:
		return StatePaidLate
	case c.Status == sg.StatusPaid:
		return string(sg.StatusPaid)
	case c.Exception == sg.ExceptionUnderpaid:
		return StateUnderpaid
	case c.Status == sg.StatusOpen && now >= c.ExpiresAt:
		return string(sg.StatusExpired)
	}
	return string(c.Status)
}

// chosenMethod returns the method the page shows: the one paid with, else
// want when reserved, else the one reserved last (the later in the list
// when two were reserved in the same second).
func chosenMethod(c *sg.Checkout, want *sg.PaymentMethod) *sg.CheckoutMethod {
	if c.PaidWith != nil {
		if m, ok := c.Method(*c.PaidWith); ok && m.IsReserved() {
			return m
		}
		return nil
	}
	if want != nil {
		if m, ok := c.Method(*want); ok && m.IsReserved() {
			return m
		}
	}
	var last *sg.CheckoutMethod
	for i := range c.Methods {
		if m := &c.Methods[i]; m.IsReserved() && (last == nil || m.Reserved >= last.Reserved) {
			last = m
		}
	}
	return last
}

func (p *Public) publicMethod(id string, cm *sg.CheckoutMethod) *PublicMethod {
	amount := sg.FormatUnits(cm.Amount, cm.Decimals)
	head, tail := SplitAmount(amount)
	pm := &PublicMethod{
		Chain: cm.Chain, Token: cm.Token, ChainName: cm.ChainName, Address: cm.Address,
		Amount: amount, AmountBaseUnits: cm.Amount.String(), URI: cm.URI,
		AmountHead: head, AmountTail: tail,
	}
	ch, ok := p.checkouts.registry.Chain(cm.Chain)
	if !ok {
		return pm
	}
	pm.FeeClass, pm.NativeSymbol = ch.FeeClass, ch.NativeSymbol
	if ch.Kind == chains.KindEVM {
		pm.Wallet = &WalletRequest{
			ChainID: fmt.Sprintf("0x%x", ch.ChainID), ChainName: ch.Name, NativeSymbol: ch.NativeSymbol,
			RPCURLs: append([]string{}, p.cfg.WalletRPCURLs[ch.ID]...), ExplorerURL: explorerOrigin(ch),
			Contract: cm.Contract, To: cm.Address, Amount: cm.Amount.String(),
		}
	}
	if ch.Kind == chains.KindSolana && p.cfg.Blockhash != nil && cm.Reference != "" {
		pm.SolanaWallet = &SolanaWalletRequest{
			Chain: SolanaWalletChain(ch.ID),
			TransactionURL: "/pay/" + url.PathEscape(id) + "/solana-transaction?" +
				url.Values{"method": {cm.Chain + ":" + cm.Token}}.Encode(),
		}
	}
	return pm
}

// SplitAmount splits a decimal amount after its cents: "50.00012" becomes
// "50.00" and "012". The fingerprint offset is always below a cent, so the
// tail is what tells this payment apart from the price.
func SplitAmount(amount string) (head, tail string) {
	dot := strings.IndexByte(amount, '.')
	if dot < 0 || len(amount) <= dot+1+sg.USDDecimals {
		return amount, ""
	}
	return amount[:dot+1+sg.USDDecimals], amount[dot+1+sg.USDDecimals:]
}

// explorerOrigin returns the scheme and host of the chain's explorer.
func explorerOrigin(ch *chains.Chain) string {
	u, err := url.Parse(ch.TxURL("x"))
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// maxPaymentsScanned bounds the payments read to find the settling one:
// the newest few, since it is the latest applied in PaidWith's token.
const maxPaymentsScanned = 8

// settlingPayment returns the newest payment applied to c in its PaidWith
// method that no reorg reverted, nil when there is none. m is c's merchant,
// nil to read it.
func (p *Public) settlingPayment(ctx context.Context, c *sg.Checkout, m *sg.Merchant) (*PublicPayment, error) {
	for i, n := len(c.Payments)-1, 0; i >= 0 && n < maxPaymentsScanned; i, n = i-1, n+1 {
		pay, err := p.store.Payment(ctx, c.MerchantID, c.Payments[i])
		if sg.IsCode(err, sg.ENOTFOUND) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if pay.Status == sg.PaymentReverted || pay.Chain != c.PaidWith.Chain || pay.Token != c.PaidWith.Token {
			continue
		}
		out := &PublicPayment{
			Chain: pay.Chain, Token: pay.Token, TxHash: pay.TxHash,
			Amount: sg.FormatUnits(pay.Amount, pay.Decimals), BlockTime: pay.BlockTime,
		}
		ch, ok := p.checkouts.registry.Chain(pay.Chain)
		if !ok {
			return out, nil
		}
		out.ExplorerURL = ch.TxURL(pay.TxHash)
		if m == nil {
			if m, err = p.store.Merchant(ctx, c.MerchantID); err != nil {
				return nil, fmt.Errorf("load merchant: %w", err)
			}
		}
		if pol := ch.Policy(m.SettingsFor(c.Livemode)); pol.Mode == chains.ConfirmBlocks {
			out.ConfirmationsRequired = pol.Blocks
			if pay.Status == sg.PaymentConfirmed {
				out.Confirmations = pol.Blocks
			} else if head, ok, err := p.store.ChainHead(ctx, pay.Chain); err != nil {
				return nil, err
			} else if ok && head >= pay.BlockNumber {
				out.Confirmations = min(head-pay.BlockNumber+1, pol.Blocks)
			}
		}
		return out, nil
	}
	return nil, nil
}

// SolanaLabel answers a Solana Pay transaction request's GET: who asks
// for the payment, for the wallet to show before it asks for the
// transaction.
type SolanaLabel struct {
	// Label is the merchant's name.
	Label string `json:"label"`
	// Icon is the merchant's logo, an https URL; absent when it has none.
	Icon string `json:"icon,omitempty"`
}

// SolanaTransaction answers a Solana Pay transaction request's POST: the
// payment for the customer's wallet to sign and send.
type SolanaTransaction struct {
	// Transaction is the unsigned legacy transaction in wire form, base64,
	// with its one signature slot (the payer's) zeroed.
	Transaction string `json:"transaction"`
	// Message is a short text the wallet may show beside it: the merchant,
	// the amount and the token.
	Message string `json:"message"`
}

// SolanaLabel returns who asks for a checkout's payment. Errors: not_found
// for an unknown checkout.
func (p *Public) SolanaLabel(ctx context.Context, id string) (*SolanaLabel, error) {
	c, err := p.store.CheckoutByID(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err := p.store.Merchant(ctx, c.MerchantID)
	if err != nil {
		return nil, fmt.Errorf("load merchant: %w", err)
	}
	b := p.Branding(m)
	l := &SolanaLabel{Label: b.Name}
	if strings.HasPrefix(b.LogoURL, "https://") {
		l.Icon = b.LogoURL
	}
	return l, nil
}

// SolanaTransaction builds the payment of a checkout's reserved Solana
// method from the wallet account (base58): transferChecked of exactly the
// reserved amount from the account's associated token account to the
// merchant's, with the checkout's reference key, the account paying the
// fee and creating the merchant's token account if it does not exist
// yet (see solana.PaymentTx). It reads the checkout and changes nothing.
// want names the method (the page's); nil takes the one the page shows.
//
// Errors: invalid "parameter_missing" or "account_invalid" (param
// "account") for an account that is not a wallet's public key, or is the
// merchant's wallet or a key of the payment itself; not_found for an
// unknown checkout; conflict "checkout_not_open" unless the checkout is
// open, not expired and not underpaid; conflict "payment_method_not_chosen"
// when want (or, without it, any method) is not reserved; conflict
// "payment_method_not_solana" for a method on another kind of chain;
// conflict "wallet_payment_unavailable" when the service has no
// Blockhash, or the method cannot be paid this way any more (its chain or
// token left the registry, or it has no reference key).
func (p *Public) SolanaTransaction(ctx context.Context, id string, want *sg.PaymentMethod, account string) (*SolanaTransaction, error) {
	if account == "" {
		return nil, invalid("parameter_missing", "account", "account is required: the base58 public key of the paying wallet")
	}
	payer, err := solanago.PublicKeyFromBase58(account)
	if err != nil || payer.IsZero() {
		return nil, invalid("account_invalid", "account", "account must be a Solana public key in base58")
	}
	if !payer.IsOnCurve() {
		// A program address has no private key: it can sign no payment.
		return nil, invalid("account_invalid", "account", "account is not a wallet's public key")
	}
	c, err := p.store.CheckoutByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if State(c, p.checkouts.now().Unix()) != string(sg.StatusOpen) {
		return nil, sg.Errorf(sg.ECONFLICT, "checkout_not_open", "", "a payment transaction is only built while the checkout is open")
	}
	var cm *sg.CheckoutMethod
	if want != nil {
		for i := range c.Methods { // the token's case ignored, as in Select
			if m := &c.Methods[i]; m.Chain == want.Chain && strings.EqualFold(m.Token, want.Token) && m.IsReserved() {
				cm = m
			}
		}
	} else {
		cm = chosenMethod(c, nil)
	}
	if cm == nil {
		return nil, sg.Errorf(sg.ECONFLICT, "payment_method_not_chosen", "method", "choose the payment method on the page first")
	}
	ch, tok, err := p.checkouts.registry.Lookup(cm.Chain, cm.Token)
	switch {
	case err == nil && ch.Kind != chains.KindSolana:
		return nil, sg.Errorf(sg.ECONFLICT, "payment_method_not_solana", "method", "%s is not a Solana network; pay with an Ethereum wallet", ch.Name)
	case err != nil || tok.Contract != cm.Contract || cm.Reference == "":
		return nil, sg.Errorf(sg.ECONFLICT, "wallet_payment_unavailable", "method", "this payment method cannot be paid with a browser wallet; use the QR code or the wallet link")
	case p.cfg.Blockhash == nil:
		return nil, sg.Errorf(sg.ECONFLICT, "wallet_payment_unavailable", "", "this gateway builds no wallet transactions; use the QR code or the wallet link")
	}
	pt := solana.PaymentTx{Payer: payer, TokenProgram: solana.TokenProgram(tok), Decimals: cm.Decimals}
	if pt.Recipient, err = solanago.PublicKeyFromBase58(cm.Address); err != nil {
		return nil, fmt.Errorf("checkout %s: merchant wallet %q: %w", c.ID, cm.Address, err)
	}
	if pt.Mint, err = solanago.PublicKeyFromBase58(cm.Contract); err != nil {
		return nil, fmt.Errorf("checkout %s: mint %q: %w", c.ID, cm.Contract, err)
	}
	if pt.Reference, err = solanago.PublicKeyFromBase58(cm.Reference); err != nil {
		return nil, fmt.Errorf("checkout %s: reference %q: %w", c.ID, cm.Reference, err)
	}
	for _, k := range []solanago.PublicKey{
		pt.Recipient, pt.Reference, pt.Mint, pt.TokenProgram,
		solanago.SystemProgramID, solanago.SPLAssociatedTokenAccountProgramID, solanago.MemoProgramID,
	} {
		if payer.Equals(k) {
			// The merchant paying itself would move nothing and still
			// settle the checkout; the others are no wallet.
			return nil, invalid("account_invalid", "account", "account cannot pay this checkout: it is the merchant's wallet or a key of the payment")
		}
	}
	if !cm.Amount.IsUint64() {
		return nil, fmt.Errorf("checkout %s: amount %s does not fit a token amount", c.ID, cm.Amount)
	}
	pt.Amount = cm.Amount.Uint64()
	bh, err := p.cfg.Blockhash(ctx, ch)
	if err != nil {
		return nil, fmt.Errorf("recent blockhash: %w", err)
	}
	if pt.Blockhash, err = solanago.HashFromBase58(bh); err != nil {
		return nil, fmt.Errorf("recent blockhash %q: %w", bh, err)
	}
	tx, err := pt.Build()
	if err != nil {
		return nil, fmt.Errorf("checkout %s: %w", c.ID, err)
	}
	wire, err := tx.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("checkout %s: encode payment: %w", c.ID, err)
	}
	m, err := p.store.Merchant(ctx, c.MerchantID)
	if err != nil {
		return nil, fmt.Errorf("load merchant: %w", err)
	}
	return &SolanaTransaction{
		Transaction: base64.StdEncoding.EncodeToString(wire),
		Message:     fmt.Sprintf("%s: %s %s", p.Branding(m).Name, sg.FormatUnits(cm.Amount, cm.Decimals), cm.Token),
	}, nil
}
