package svmtest_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/gagliardetto/solana-go/rpc/jsonrpc"
	"github.com/mr-tron/base58"

	"github.com/stablegate/stablegate/chains/solana/svmtest"
)

// shop is a chain with a classic SPL mint of 6 decimals, a customer holding
// some of it and a merchant without a token account yet.
type shop struct {
	node      *svmtest.Node
	authority solana.PrivateKey
	mint      solana.PublicKey
	program   solana.PublicKey
	customer  solana.PrivateKey
	merchant  solana.PublicKey
}

func newShop(t *testing.T, opts svmtest.Options, program solana.PublicKey, balance uint64) *shop {
	t.Helper()
	node := svmtest.Start(t, opts)
	s := &shop{node: node, program: program, authority: node.Funded(t), customer: node.Funded(t), merchant: solana.NewWallet().PublicKey()}
	s.mint = node.CreateMint(t, s.authority, 6, program)
	node.MintTo(t, s.authority, s.mint, s.customer.PublicKey(), balance)
	return s
}

func (s *shop) ata(owner solana.PublicKey) solana.PublicKey {
	return svmtest.AssociatedTokenAddress(owner, s.mint, s.program)
}

func (s *shop) pay(t *testing.T, amount uint64, skipPreflight bool, refs ...solana.PublicKey) solana.Signature {
	t.Helper()
	return s.node.TransferChecked(t, svmtest.TransferParams{
		From: s.customer, Mint: s.mint, ToOwner: s.merchant, Amount: amount, Decimals: 6, References: refs, SkipPreflight: skipPreflight,
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// parsedTx is the part of a jsonParsed getTransaction result the tests read.
type parsedTx struct {
	Slot      uint64 `json:"slot"`
	BlockTime *int64 `json:"blockTime"`
	Version   any    `json:"version"`
	Meta      struct {
		Err               json.RawMessage   `json:"err"`
		Status            json.RawMessage   `json:"status"`
		Fee               uint64            `json:"fee"`
		PreBalances       []uint64          `json:"preBalances"`
		PostBalances      []uint64          `json:"postBalances"`
		PreTokenBalances  json.RawMessage   `json:"preTokenBalances"`
		PostTokenBalances json.RawMessage   `json:"postTokenBalances"`
		InnerInstructions []json.RawMessage `json:"innerInstructions"`
		LogMessages       []string          `json:"logMessages"`
		LoadedAddresses   *struct {
			Writable []string `json:"writable"`
			Readonly []string `json:"readonly"`
		} `json:"loadedAddresses"`
	} `json:"meta"`
	Transaction struct {
		Signatures []string `json:"signatures"`
		Message    struct {
			AccountKeys []struct {
				Pubkey   string `json:"pubkey"`
				Signer   bool   `json:"signer"`
				Writable bool   `json:"writable"`
				Source   string `json:"source"`
			} `json:"accountKeys"`
			Instructions        []json.RawMessage `json:"instructions"`
			AddressTableLookups []struct {
				AccountKey      string `json:"accountKey"`
				WritableIndexes []int  `json:"writableIndexes"`
				ReadonlyIndexes []int  `json:"readonlyIndexes"`
			} `json:"addressTableLookups"`
		} `json:"message"`
	} `json:"transaction"`
}

func getParsed(t *testing.T, url string, sig solana.Signature, commitment rpc.CommitmentType) *parsedTx {
	t.Helper()
	var tx *parsedTx
	result(t, url, &tx, "getTransaction", sig.String(), map[string]any{
		"encoding": "jsonParsed", "commitment": commitment, "maxSupportedTransactionVersion": 0,
	})
	return tx
}

type sigInfo struct {
	Signature          string          `json:"signature"`
	Slot               uint64          `json:"slot"`
	Err                json.RawMessage `json:"err"`
	Memo               *string         `json:"memo"`
	BlockTime          *int64          `json:"blockTime"`
	ConfirmationStatus string          `json:"confirmationStatus"`
}

func signaturesFor(t *testing.T, url string, addr solana.PublicKey, config map[string]any) []sigInfo {
	t.Helper()
	if config == nil {
		config = map[string]any{}
	}
	if config["commitment"] == nil {
		config["commitment"] = "confirmed"
	}
	var out []sigInfo
	result(t, url, &out, "getSignaturesForAddress", addr.String(), config)
	return out
}

func sigList(infos []sigInfo) []string {
	out := make([]string, len(infos))
	for i, s := range infos {
		out[i] = s.Signature
	}
	return out
}

type status struct {
	Slot               uint64          `json:"slot"`
	Confirmations      *uint64         `json:"confirmations"`
	Err                json.RawMessage `json:"err"`
	Status             json.RawMessage `json:"status"`
	ConfirmationStatus string          `json:"confirmationStatus"`
}

func statusOf(t *testing.T, url string, sig solana.Signature) *status {
	t.Helper()
	var out struct {
		Value []*status `json:"value"`
	}
	result(t, url, &out, "getSignatureStatuses", []string{sig.String()}, map[string]any{"searchTransactionHistory": true})
	if len(out.Value) != 1 {
		t.Fatalf("getSignatureStatuses: %d values for one signature", len(out.Value))
	}
	return out.Value[0]
}

func balance(t *testing.T, url string, key solana.PublicKey, commitment rpc.CommitmentType) uint64 {
	t.Helper()
	var out struct {
		Value uint64 `json:"value"`
	}
	result(t, url, &out, "getBalance", key.String(), map[string]any{"commitment": commitment})
	return out.Value
}

func TestCommitmentProgression(t *testing.T) {
	t.Parallel()
	s := newShop(t, svmtest.Options{SlotInterval: 50 * time.Millisecond, ConfirmDepth: 2, FinalizeDepth: 5}, solana.TokenProgramID, 1_000_000)
	url := s.node.URL
	rent := must(s.node.Client.GetMinimumBalanceForRentExemption(ctx(t), 165, ""))
	merchantATA := s.ata(s.merchant)

	s.node.Pause(t)
	sig := s.pay(t, 250_000, false)
	st := statusOf(t, url, sig)
	if st == nil || st.ConfirmationStatus != "processed" || st.Confirmations == nil || *st.Confirmations != 0 {
		t.Fatalf("status right after sending: %+v", st)
	}
	sent := st.Slot

	if tx := getParsed(t, url, sig, rpc.CommitmentConfirmed); tx != nil {
		t.Fatalf("confirmed getTransaction found the transaction at slot %d before any slot passed", tx.Slot)
	}
	if code, msg := rpcFailure(t, url, "getTransaction", sig.String(), map[string]any{"commitment": "processed"}); code != -32602 || msg != "Method does not support commitment below `confirmed`" {
		t.Errorf("getTransaction at processed: %d %q", code, msg)
	}
	// Account state follows the commitment too: the merchant's new token
	// account exists at processed only.
	if got := balance(t, url, merchantATA, rpc.CommitmentProcessed); got != rent {
		t.Errorf("processed balance of the new token account = %d, want %d", got, rent)
	}
	if got := balance(t, url, merchantATA, rpc.CommitmentConfirmed); got != 0 {
		t.Errorf("confirmed balance of the new token account = %d, want 0", got)
	}

	s.node.Advance(t, 1)
	if tx := getParsed(t, url, sig, rpc.CommitmentConfirmed); tx != nil {
		t.Fatal("confirmed one slot after sending, with ConfirmDepth 2")
	}
	s.node.Advance(t, 1)
	tx := getParsed(t, url, sig, rpc.CommitmentConfirmed)
	if tx == nil || tx.Slot != sent {
		t.Fatalf("confirmed getTransaction after ConfirmDepth slots: %+v, want slot %d", tx, sent)
	}
	if tx := getParsed(t, url, sig, rpc.CommitmentFinalized); tx != nil {
		t.Fatal("finalized already at ConfirmDepth")
	}
	if st := statusOf(t, url, sig); st.ConfirmationStatus != "confirmed" || *st.Confirmations != 2 {
		t.Errorf("status at ConfirmDepth: %+v", st)
	}
	if got := balance(t, url, merchantATA, rpc.CommitmentConfirmed); got != rent {
		t.Errorf("confirmed balance after ConfirmDepth = %d, want %d", got, rent)
	}
	if got := balance(t, url, merchantATA, rpc.CommitmentFinalized); got != 0 {
		t.Errorf("finalized balance before FinalizeDepth = %d, want 0", got)
	}

	s.node.Advance(t, 3)
	if tx := getParsed(t, url, sig, rpc.CommitmentFinalized); tx == nil || tx.Slot != sent {
		t.Fatalf("finalized getTransaction after FinalizeDepth slots: %+v", tx)
	}
	if st := statusOf(t, url, sig); st.ConfirmationStatus != "finalized" || st.Confirmations != nil {
		t.Errorf("status at FinalizeDepth: %+v", st)
	}
	var slots [3]uint64
	for i, c := range []string{"processed", "confirmed", "finalized"} {
		result(t, url, &slots[i], "getSlot", map[string]any{"commitment": c})
	}
	if slots != [3]uint64{sent + 5, sent + 3, sent} {
		t.Errorf("getSlot processed/confirmed/finalized = %v, want %v", slots, [3]uint64{sent + 5, sent + 3, sent})
	}
	s.node.Resume(t)
}

const insufficientFunds = `{"InstructionError":[1,{"Custom":1}]}` // SPL Token's InsufficientFunds, in the transfer (instruction 1)

func TestFailedTransferLandsWithSkipPreflight(t *testing.T) {
	t.Parallel()
	s := newShop(t, svmtest.Options{}, solana.TokenProgramID, 100)
	url := s.node.URL
	ref := solana.NewWallet().PublicKey()
	lamportsBefore := balance(t, url, s.customer.PublicKey(), rpc.CommitmentConfirmed)

	sig := s.pay(t, 1_000, true, ref)
	s.node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)

	found := signaturesFor(t, url, ref, nil)
	if len(found) != 1 || found[0].Signature != sig.String() {
		t.Fatalf("getSignaturesForAddress(reference) = %+v, want the failed transfer", found)
	}
	sameJSON(t, "getSignaturesForAddress err", found[0].Err, insufficientFunds)
	if st := statusOf(t, url, sig); st == nil {
		t.Fatal("no status for the failed transfer")
	} else {
		sameJSON(t, "status.err", st.Err, insufficientFunds)
		sameJSON(t, "status.status", st.Status, `{"Err":`+insufficientFunds+`}`)
	}

	tx := getParsed(t, url, sig, rpc.CommitmentConfirmed)
	sameJSON(t, "meta.err", tx.Meta.Err, insufficientFunds)
	sameJSON(t, "meta.status", tx.Meta.Status, `{"Err":`+insufficientFunds+`}`)
	sameJSON(t, "token balances before and after", tx.Meta.PostTokenBalances, tx.Meta.PreTokenBalances)
	src := s.ata(s.customer.PublicKey()).String()
	idx := slices.IndexFunc(tx.Transaction.Message.AccountKeys, func(k struct {
		Pubkey   string `json:"pubkey"`
		Signer   bool   `json:"signer"`
		Writable bool   `json:"writable"`
		Source   string `json:"source"`
	}) bool {
		return k.Pubkey == src
	})
	sameJSON(t, "postTokenBalances", tx.Meta.PostTokenBalances, []map[string]any{{
		"accountIndex": idx, "mint": s.mint.String(), "owner": s.customer.PublicKey().String(), "programId": solana.TokenProgramID.String(),
		"uiTokenAmount": map[string]any{"amount": "100", "decimals": 6, "uiAmount": 0.0001, "uiAmountString": "0.0001"},
	}})
	if tx.Meta.Fee != 5000 || tx.Meta.PreBalances[0]-tx.Meta.PostBalances[0] != 5000 {
		t.Errorf("fee %d, fee payer paid %d; want 5000 charged as a leader would", tx.Meta.Fee, tx.Meta.PreBalances[0]-tx.Meta.PostBalances[0])
	}
	if got := balance(t, url, s.customer.PublicKey(), rpc.CommitmentConfirmed); got != lamportsBefore-5000 {
		t.Errorf("customer lamports %d, want %d", got, lamportsBefore-5000)
	}
	var tb struct {
		Value struct {
			Amount string `json:"amount"`
		} `json:"value"`
	}
	result(t, url, &tb, "getTokenAccountBalance", src, map[string]any{"commitment": "confirmed"})
	if tb.Value.Amount != "100" {
		t.Errorf("customer token balance %s after a failed transfer, want 100", tb.Value.Amount)
	}
	if code, msg := rpcFailure(t, url, "getTokenAccountBalance", s.ata(s.merchant).String(), map[string]any{"commitment": "confirmed"}); code != -32602 || msg != "Invalid param: could not find account" {
		t.Errorf("merchant token account after a failed first transfer: %d %q, want it never created", code, msg)
	}
}

func TestPreflightRefusalsRecordNothing(t *testing.T) {
	t.Parallel()
	s := newShop(t, svmtest.Options{}, solana.TokenProgramID, 100)
	url := s.node.URL
	ref := solana.NewWallet().PublicKey()
	program := solana.TokenProgramID
	transfer := func(amount uint64) []solana.Instruction {
		data := binary.LittleEndian.AppendUint64([]byte{12}, amount)
		return []solana.Instruction{
			svmtest.CreateATAIdempotent(s.customer.PublicKey(), s.merchant, s.mint, program),
			solana.NewInstruction(program, solana.AccountMetaSlice{
				solana.Meta(s.ata(s.customer.PublicKey())).WRITE(), solana.Meta(s.mint), solana.Meta(s.ata(s.merchant)).WRITE(),
				solana.Meta(s.customer.PublicKey()).SIGNER(), solana.Meta(ref),
			}, append(data, 6)),
		}
	}
	lamportsBefore := balance(t, url, s.customer.PublicKey(), rpc.CommitmentConfirmed)

	t.Run("simulation failure", func(t *testing.T) {
		tx := s.node.Tx(t, s.customer, transfer(1_000), svmtest.TxOptions{})
		_, err := s.node.Client.SendTransactionWithOpts(ctx(t), tx, rpc.TransactionOpts{PreflightCommitment: rpc.CommitmentConfirmed})
		var rpcErr *jsonrpc.RPCError
		if !errors.As(err, &rpcErr) {
			t.Fatalf("send: %v, want a JSON-RPC error", err)
		}
		if rpcErr.Code != -32002 || rpcErr.Message != "Transaction simulation failed: Error processing Instruction 1: custom program error: 0x1" {
			t.Errorf("error %d %q", rpcErr.Code, rpcErr.Message)
		}
		data, _ := rpcErr.Data.(map[string]any)
		sameJSON(t, "error data err", data["err"], insufficientFunds)
		logs, _ := data["logs"].([]any)
		if !slices.Contains(logs, any("Program log: Error: insufficient funds")) {
			t.Errorf("error data logs %v lack the token program's message", logs)
		}
		if st := statusOf(t, url, tx.Signatures[0]); st != nil {
			t.Errorf("refused transaction has a status: %+v", st)
		}
	})

	t.Run("blockhash newer than the preflight bank", func(t *testing.T) {
		// A blockhash from the processed bank is unknown to the finalized
		// bank, where preflight runs by default, as on a real node.
		bh := must(s.node.Client.GetLatestBlockhash(ctx(t), rpc.CommitmentProcessed))
		tx := must(solana.NewTransaction(transfer(1), bh.Value.Blockhash, solana.TransactionPayer(s.customer.PublicKey())))
		must(tx.Sign(func(solana.PublicKey) *solana.PrivateKey { return &s.customer }))
		_, err := s.node.Client.SendTransactionWithOpts(ctx(t), tx, rpc.TransactionOpts{})
		var rpcErr *jsonrpc.RPCError
		if !errors.As(err, &rpcErr) || rpcErr.Code != -32002 || rpcErr.Message != "Transaction simulation failed: Blockhash not found" {
			t.Fatalf("send with default preflight commitment: %v", err)
		}
		if got := rpcErr.Data.(map[string]any)["err"]; got != "BlockhashNotFound" {
			t.Errorf("error data err %v, want BlockhashNotFound", got)
		}
	})

	t.Run("duplicate", func(t *testing.T) {
		tx := s.node.Tx(t, s.customer, transfer(10), svmtest.TxOptions{})
		sig := s.node.Send(t, tx, false)
		_, err := s.node.Client.SendTransactionWithOpts(ctx(t), tx, rpc.TransactionOpts{PreflightCommitment: rpc.CommitmentConfirmed})
		var rpcErr *jsonrpc.RPCError
		if !errors.As(err, &rpcErr) || rpcErr.Code != -32002 || rpcErr.Message != "Transaction simulation failed: This transaction has already been processed" {
			t.Fatalf("resend with preflight: %v", err)
		}
		// Without preflight a node forwards it and the leader drops it.
		if again := s.node.Send(t, tx, true); again != sig {
			t.Errorf("resend without preflight returned %s, want %s", again, sig)
		}
		s.node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
		if got := sigList(signaturesFor(t, url, ref, nil)); !slices.Equal(got, []string{sig.String()}) {
			t.Errorf("reference's signatures %v, want the one transfer that landed", got)
		}
		// One fee, for the one landed transfer; refusals cost nothing.
		if got := balance(t, url, s.customer.PublicKey(), rpc.CommitmentConfirmed); got != lamportsBefore-5000-must(s.node.Client.GetMinimumBalanceForRentExemption(ctx(t), 165, "")) {
			t.Errorf("customer lamports %d after one landed transfer that created the merchant account", got)
		}
	})
}

func TestSignaturePaging(t *testing.T) {
	t.Parallel()
	s := newShop(t, svmtest.Options{}, solana.TokenProgramID, 1_000)
	url := s.node.URL
	ref := solana.NewWallet().PublicKey()
	var sigs []string // oldest first
	for amount := uint64(1); amount <= 5; amount++ {
		sigs = append(sigs, s.pay(t, amount, false, ref).String())
	}
	s.node.WaitCommitment(t, solana.MustSignatureFromBase58(sigs[4]), rpc.CommitmentConfirmed)
	newest := slices.Clone(sigs)
	slices.Reverse(newest)

	all := signaturesFor(t, url, ref, nil)
	if got := sigList(all); !slices.Equal(got, newest) {
		t.Fatalf("all signatures %v, want newest first %v", got, newest)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Slot > all[i-1].Slot {
			t.Errorf("slot %d after slot %d: not newest first", all[i].Slot, all[i-1].Slot)
		}
	}
	pages := []struct {
		name   string
		config map[string]any
		want   []string
	}{
		{"first page", map[string]any{"limit": 2}, newest[:2]},
		{"second page", map[string]any{"limit": 2, "before": newest[1]}, newest[2:4]},
		{"last page", map[string]any{"limit": 2, "before": newest[3]}, newest[4:]},
		{"until", map[string]any{"until": newest[3]}, newest[:3]},
		{"before and until", map[string]any{"before": newest[0], "until": newest[4]}, newest[1:4]},
		{"before an unknown signature", map[string]any{"before": solana.Signature{7}.String()}, []string{}},
	}
	for _, p := range pages {
		if got := sigList(signaturesFor(t, url, ref, p.config)); !slices.Equal(got, p.want) {
			t.Errorf("%s: %v, want %v", p.name, got, p.want)
		}
	}
	if code, msg := rpcFailure(t, url, "getSignaturesForAddress", ref.String(), map[string]any{"limit": 1001}); code != -32602 || msg != "Invalid limit; max 1000" {
		t.Errorf("limit 1001: %d %q", code, msg)
	}
	if code, _ := rpcFailure(t, url, "getSignaturesForAddress", ref.String(), map[string]any{"commitment": "processed"}); code != -32602 {
		t.Errorf("processed commitment: code %d, want -32602", code)
	}
	// The same paging through solana-go, as the watcher does it.
	limit := 2
	page, err := s.node.Client.GetSignaturesForAddressWithOpts(ctx(t), ref, &rpc.GetSignaturesForAddressOpts{
		Limit: &limit, Before: solana.MustSignatureFromBase58(newest[0]), Commitment: rpc.CommitmentConfirmed,
	})
	if err != nil || len(page) != 2 || page[0].Signature.String() != newest[1] || page[1].Signature.String() != newest[2] {
		t.Errorf("solana-go page: %v %v", page, err)
	}
}

func TestReferencePaymentTokenBalancesAndInnerInstructions(t *testing.T) {
	t.Parallel()
	for _, program := range []solana.PublicKey{solana.TokenProgramID, solana.Token2022ProgramID} {
		t.Run(program.String(), func(t *testing.T) {
			t.Parallel()
			s := newShop(t, svmtest.Options{}, program, 1_000_000)
			url := s.node.URL
			ref1, ref2 := solana.NewWallet().PublicKey(), solana.NewWallet().PublicKey()
			sig := s.pay(t, 250_000, false, ref1, ref2)
			s.node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)

			for _, ref := range []solana.PublicKey{ref1, ref2} {
				if got := sigList(signaturesFor(t, url, ref, nil)); !slices.Equal(got, []string{sig.String()}) {
					t.Errorf("getSignaturesForAddress(%s) = %v, want the payment", ref, got)
				}
			}
			tx := getParsed(t, url, sig, rpc.CommitmentConfirmed)
			keys := tx.Transaction.Message.AccountKeys
			index := func(k solana.PublicKey) int {
				for i := range keys {
					if keys[i].Pubkey == k.String() {
						return i
					}
				}
				t.Fatalf("%s is not an account key", k)
				return -1
			}
			if k := keys[index(ref1)]; k.Signer || k.Writable || k.Source != "transaction" {
				t.Errorf("reference key %+v, want read-only, not a signer", k)
			}
			customer, merchant := s.customer.PublicKey(), s.merchant
			src, dst := s.ata(customer), s.ata(merchant)
			name := "spl-token"
			if program == solana.Token2022ProgramID {
				name = "spl-token-2022"
			}
			// References after the authority make the parser report the
			// authority as a multisig with the references as signers, as a
			// real node does for Solana Pay transfers.
			sameJSON(t, "transferChecked", tx.Transaction.Message.Instructions[1], map[string]any{
				"program": name, "programId": program.String(), "stackHeight": 1,
				"parsed": map[string]any{"type": "transferChecked", "info": map[string]any{
					"source": src.String(), "mint": s.mint.String(), "destination": dst.String(),
					"multisigAuthority": customer.String(), "signers": []string{ref1.String(), ref2.String()},
					"tokenAmount": map[string]any{"amount": "250000", "decimals": 6, "uiAmount": 0.25, "uiAmountString": "0.25"},
				}},
			})
			balanceOf := func(i int, owner solana.PublicKey, amount, ui string, uiAmount float64) map[string]any {
				return map[string]any{"accountIndex": i, "mint": s.mint.String(), "owner": owner.String(), "programId": program.String(),
					"uiTokenAmount": map[string]any{"amount": amount, "decimals": 6, "uiAmount": uiAmount, "uiAmountString": ui}}
			}
			sameJSON(t, "preTokenBalances", tx.Meta.PreTokenBalances, []any{balanceOf(index(src), customer, "1000000", "1", 1)})
			post := []any{balanceOf(index(src), customer, "750000", "0.75", 0.75), balanceOf(index(dst), merchant, "250000", "0.25", 0.25)}
			if index(dst) < index(src) {
				slices.Reverse(post)
			}
			sameJSON(t, "postTokenBalances", tx.Meta.PostTokenBalances, post)

			// createIdempotent made the merchant's account through four
			// cross-program invocations, parsed like outer instructions.
			space := len(must(s.node.Client.GetAccountInfoWithOpts(ctx(t), dst, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})).Value.Data.GetBinary())
			rent := must(s.node.Client.GetMinimumBalanceForRentExemption(ctx(t), uint64(space), ""))
			sizeInfo := map[string]any{"mint": s.mint.String()}
			if program == solana.Token2022ProgramID {
				sizeInfo["extensionTypes"] = []string{"immutableOwner"}
			}
			parsed := func(prog, progName, typ string, info map[string]any) map[string]any {
				return map[string]any{"program": progName, "programId": prog, "stackHeight": 2, "parsed": map[string]any{"type": typ, "info": info}}
			}
			sameJSON(t, "innerInstructions", tx.Meta.InnerInstructions, []any{map[string]any{"index": 0, "instructions": []any{
				parsed(program.String(), name, "getAccountDataSize", sizeInfo),
				parsed(solana.SystemProgramID.String(), "system", "createAccount", map[string]any{
					"lamports": rent, "newAccount": dst.String(), "owner": program.String(), "source": customer.String(), "space": space,
				}),
				parsed(program.String(), name, "initializeImmutableOwner", map[string]any{"account": dst.String()}),
				parsed(program.String(), name, "initializeAccount3", map[string]any{"account": dst.String(), "mint": s.mint.String(), "owner": merchant.String()}),
			}}})

			// The json encoding carries the same inner instructions as indexes
			// into the account keys, with their stack height.
			var raw struct {
				Meta struct {
					InnerInstructions []struct {
						Index        int `json:"index"`
						Instructions []struct {
							ProgramIDIndex int    `json:"programIdIndex"`
							Accounts       []int  `json:"accounts"`
							Data           string `json:"data"`
							StackHeight    int    `json:"stackHeight"`
						} `json:"instructions"`
					} `json:"innerInstructions"`
				} `json:"meta"`
			}
			result(t, url, &raw, "getTransaction", sig.String(), map[string]any{"commitment": "confirmed"})
			inner := raw.Meta.InnerInstructions
			if len(inner) != 1 || len(inner[0].Instructions) != 4 || inner[0].Instructions[1].ProgramIDIndex != index(solana.SystemProgramID) ||
				inner[0].Instructions[1].StackHeight != 2 || inner[0].Instructions[1].Data == "" {
				t.Errorf("json innerInstructions %+v", inner)
			}
		})
	}
}

func TestTransferCheckedWithFee(t *testing.T) {
	t.Parallel()
	node := svmtest.Start(t, svmtest.Options{})
	authority, customer, merchant := node.Funded(t), node.Funded(t), solana.NewWallet().PublicKey()
	program := solana.Token2022ProgramID

	// A Token-2022 mint with a 1% transfer fee capped at 5000 base units:
	// the base mint padded to an account's size, its account type and the
	// TransferFeeConfig extension.
	const space = 165 + 1 + 4 + 108
	mint := solana.NewWallet().PrivateKey
	rent := must(node.Client.GetMinimumBalanceForRentExemption(ctx(t), space, ""))
	feeConfig := []byte{26, 0, 1}
	feeConfig = append(feeConfig, authority.PublicKey().Bytes()...)
	feeConfig = append(append(feeConfig, 1), authority.PublicKey().Bytes()...)
	feeConfig = binary.LittleEndian.AppendUint16(feeConfig, 100)
	feeConfig = binary.LittleEndian.AppendUint64(feeConfig, 5000)
	initMint := append([]byte{20, 6}, authority.PublicKey().Bytes()...)
	ixs := []solana.Instruction{
		solana.NewInstruction(solana.SystemProgramID, solana.AccountMetaSlice{
			solana.Meta(authority.PublicKey()).WRITE().SIGNER(), solana.Meta(mint.PublicKey()).WRITE().SIGNER(),
		}, createAccountData(rent, space, program)),
		solana.NewInstruction(program, solana.AccountMetaSlice{solana.Meta(mint.PublicKey()).WRITE()}, feeConfig),
		solana.NewInstruction(program, solana.AccountMetaSlice{solana.Meta(mint.PublicKey()).WRITE()}, append(initMint, 0)),
	}
	node.WaitCommitment(t, node.Send(t, node.Tx(t, authority, ixs, svmtest.TxOptions{Signers: []solana.PrivateKey{mint}}), false), rpc.CommitmentConfirmed)
	node.MintTo(t, authority, mint.PublicKey(), customer.PublicKey(), 1_000_000)

	src := svmtest.AssociatedTokenAddress(customer.PublicKey(), mint.PublicKey(), program)
	dst := svmtest.AssociatedTokenAddress(merchant, mint.PublicKey(), program)
	data := binary.LittleEndian.AppendUint64([]byte{26, 1}, 200_000)
	data = binary.LittleEndian.AppendUint64(append(data, 6), 2_000)
	ixs = []solana.Instruction{
		svmtest.CreateATAIdempotent(customer.PublicKey(), merchant, mint.PublicKey(), program),
		solana.NewInstruction(program, solana.AccountMetaSlice{
			solana.Meta(src).WRITE(), solana.Meta(mint.PublicKey()), solana.Meta(dst).WRITE(), solana.Meta(customer.PublicKey()).SIGNER(),
		}, data),
	}
	sig := node.Send(t, node.Tx(t, customer, ixs, svmtest.TxOptions{}), false)
	node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)

	tx := getParsed(t, node.URL, sig, rpc.CommitmentConfirmed)
	sameJSON(t, "transferCheckedWithFee", tx.Transaction.Message.Instructions[1], map[string]any{
		"program": "spl-token-2022", "programId": program.String(), "stackHeight": 1,
		"parsed": map[string]any{"type": "transferCheckedWithFee", "info": map[string]any{
			"source": src.String(), "mint": mint.PublicKey().String(), "destination": dst.String(), "authority": customer.PublicKey().String(),
			"tokenAmount": map[string]any{"amount": "200000", "decimals": 6, "uiAmount": 0.2, "uiAmountString": "0.2"},
			"feeAmount":   map[string]any{"amount": "2000", "decimals": 6, "uiAmount": 0.002, "uiAmountString": "0.002"},
		}},
	})
	// The fee is withheld in the destination account: its balance is the
	// amount less the fee.
	var post []struct {
		Owner         string `json:"owner"`
		UITokenAmount struct {
			Amount string `json:"amount"`
		} `json:"uiTokenAmount"`
	}
	if err := json.Unmarshal(tx.Meta.PostTokenBalances, &post); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, b := range post {
		got[b.Owner] = b.UITokenAmount.Amount
	}
	want := map[string]string{customer.PublicKey().String(): "800000", merchant.String(): "198000"}
	if len(got) != 2 || got[customer.PublicKey().String()] != want[customer.PublicKey().String()] || got[merchant.String()] != want[merchant.String()] {
		t.Errorf("postTokenBalances by owner %v, want %v", got, want)
	}
}

func createAccountData(lamports, space uint64, owner solana.PublicKey) []byte {
	data := binary.LittleEndian.AppendUint32(nil, 0)
	data = binary.LittleEndian.AppendUint64(data, lamports)
	data = binary.LittleEndian.AppendUint64(data, space)
	return append(data, owner.Bytes()...)
}

func TestVersion0(t *testing.T) {
	t.Parallel()
	s := newShop(t, svmtest.Options{}, solana.TokenProgramID, 1_000_000)
	url := s.node.URL

	t.Run("without lookups", func(t *testing.T) {
		sig := s.node.TransferChecked(t, svmtest.TransferParams{From: s.customer, Mint: s.mint, ToOwner: s.merchant, Amount: 1, Decimals: 6, Version0: true})
		s.node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
		code, msg := rpcFailure(t, url, "getTransaction", sig.String(), map[string]any{"commitment": "confirmed"})
		if code != -32015 || msg != `Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0` {
			t.Errorf("v0 without maxSupportedTransactionVersion: %d %q", code, msg)
		}
		tx := getParsed(t, url, sig, rpc.CommitmentConfirmed)
		if tx.Version != float64(0) || tx.Transaction.Message.AddressTableLookups == nil || len(tx.Transaction.Message.AddressTableLookups) != 0 {
			t.Errorf("version %v, lookups %v; want 0 and none", tx.Version, tx.Transaction.Message.AddressTableLookups)
		}
		// solana-go reads it too.
		v := uint64(0)
		got, err := s.node.Client.GetTransaction(ctx(t), sig, &rpc.GetTransactionOpts{Commitment: rpc.CommitmentConfirmed, MaxSupportedTransactionVersion: &v})
		if err != nil || got.Version != rpc.TransactionVersion(0) || got.Meta.Err != nil {
			t.Errorf("solana-go GetTransaction: %+v %v", got, err)
		}
	})

	t.Run("with a lookup table", func(t *testing.T) {
		ref := solana.NewWallet().PublicKey()
		table := s.node.CreateLookupTable(t, s.authority, ref, s.mint)
		sig := s.node.TransferChecked(t, svmtest.TransferParams{
			From: s.customer, Mint: s.mint, ToOwner: s.merchant, Amount: 2, Decimals: 6, References: []solana.PublicKey{ref}, LookupTables: []solana.PublicKey{table},
		})
		s.node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
		if got := sigList(signaturesFor(t, url, ref, nil)); !slices.Equal(got, []string{sig.String()}) {
			t.Errorf("getSignaturesForAddress(reference loaded from a table) = %v", got)
		}
		var raw struct {
			Meta struct {
				Err             json.RawMessage `json:"err"`
				LoadedAddresses struct {
					Writable []string `json:"writable"`
					Readonly []string `json:"readonly"`
				} `json:"loadedAddresses"`
			} `json:"meta"`
			Transaction struct {
				Message struct {
					AccountKeys         []string `json:"accountKeys"`
					AddressTableLookups []struct {
						AccountKey      string `json:"accountKey"`
						ReadonlyIndexes []int  `json:"readonlyIndexes"`
					} `json:"addressTableLookups"`
				} `json:"message"`
			} `json:"transaction"`
		}
		result(t, url, &raw, "getTransaction", sig.String(), map[string]any{"commitment": "confirmed", "maxSupportedTransactionVersion": 0})
		sameJSON(t, "err", raw.Meta.Err, "null")
		lookups := raw.Transaction.Message.AddressTableLookups
		if len(lookups) != 1 || lookups[0].AccountKey != table.String() || len(lookups[0].ReadonlyIndexes) != 2 {
			t.Fatalf("addressTableLookups %+v, want the table with two read-only indexes", lookups)
		}
		loaded := slices.Sorted(slices.Values(raw.Meta.LoadedAddresses.Readonly))
		if want := slices.Sorted(slices.Values([]string{ref.String(), s.mint.String()})); !slices.Equal(loaded, want) || len(raw.Meta.LoadedAddresses.Writable) != 0 {
			t.Errorf("loadedAddresses %+v, want read-only %v", raw.Meta.LoadedAddresses, want)
		}
		if slices.Contains(raw.Transaction.Message.AccountKeys, ref.String()) {
			t.Error("the reference is in the static account keys, not loaded")
		}
		tx := getParsed(t, url, sig, rpc.CommitmentConfirmed)
		n := len(tx.Transaction.Message.AccountKeys)
		for _, k := range tx.Transaction.Message.AccountKeys[n-2:] {
			if k.Source != "lookupTable" || k.Writable || k.Signer {
				t.Errorf("loaded key %+v", k)
			}
		}
		if !strings.Contains(string(tx.Transaction.Message.Instructions[1]), `"mint":"`+s.mint.String()+`"`) {
			t.Errorf("transferChecked does not resolve the loaded mint: %s", tx.Transaction.Message.Instructions[1])
		}
	})
}

func TestAirdropAndMemo(t *testing.T) {
	t.Parallel()
	node := svmtest.Start(t, svmtest.Options{})
	key := solana.NewWallet().PublicKey()
	sig := must(node.Client.RequestAirdrop(ctx(t), key, 123_456_789, rpc.CommitmentConfirmed))
	node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
	tx := getParsed(t, node.URL, sig, rpc.CommitmentConfirmed)
	var transfer struct {
		Program string `json:"program"`
		Parsed  struct {
			Type string `json:"type"`
			Info struct {
				Destination string `json:"destination"`
				Lamports    uint64 `json:"lamports"`
			} `json:"info"`
		} `json:"parsed"`
	}
	if err := json.Unmarshal(tx.Transaction.Message.Instructions[0], &transfer); err != nil {
		t.Fatal(err)
	}
	if transfer.Program != "system" || transfer.Parsed.Type != "transfer" || transfer.Parsed.Info.Destination != key.String() || transfer.Parsed.Info.Lamports != 123_456_789 {
		t.Errorf("airdrop transaction %+v", transfer)
	}
	if got := balance(t, node.URL, key, rpc.CommitmentConfirmed); got != 123_456_789 {
		t.Errorf("airdropped balance %d", got)
	}

	payer := node.Funded(t)
	// Sent base58-encoded, the sendTransaction default.
	memo := solana.NewInstruction(svmtest.MemoProgramID, nil, []byte("order 42"))
	wire := must(node.Tx(t, payer, []solana.Instruction{memo}, svmtest.TxOptions{}).MarshalBinary())
	var sent string
	result(t, node.URL, &sent, "sendTransaction", base58.Encode(wire), map[string]any{"preflightCommitment": "confirmed"})
	sig = solana.MustSignatureFromBase58(sent)
	node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
	found := signaturesFor(t, node.URL, payer.PublicKey(), map[string]any{"limit": 1})
	if len(found) != 1 || found[0].Memo == nil || *found[0].Memo != "[8] order 42" {
		t.Errorf("memo field %+v, want \"[8] order 42\"", found)
	}
	sameJSON(t, "memo instruction", getParsed(t, node.URL, sig, rpc.CommitmentConfirmed).Transaction.Message.Instructions[0], map[string]any{
		"program": "spl-memo", "programId": svmtest.MemoProgramID.String(), "parsed": "order 42", "stackHeight": 1,
	})
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	node := svmtest.Start(t, svmtest.Options{})
	addr := solana.NewWallet().PublicKey().String()
	node.Throttle(t, "getSignaturesForAddress", 2)
	for i := range 2 {
		resp, body := post(t, node.URL, request("getSignaturesForAddress", addr))
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("call %d: HTTP %d Retry-After %q: %s", i, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	// Other methods are not throttled, and the throttle runs out.
	var slot uint64
	result(t, node.URL, &slot, "getSlot")
	var sigs []sigInfo
	result(t, node.URL, &sigs, "getSignaturesForAddress", addr)

	// A batch with a throttled call is refused whole, and solana-go surfaces
	// the refusal as an error.
	node.Throttle(t, "getSignaturesForAddress", 2)
	resp, _ := post(t, node.URL, []any{request("getSlot"), request("getSignaturesForAddress", addr)})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("batch with a throttled call: HTTP %d", resp.StatusCode)
	}
	if _, err := node.Client.GetSignaturesForAddress(ctx(t), solana.MustPublicKeyFromBase58(addr)); err == nil {
		t.Error("solana-go: a throttled call succeeded")
	}
}

// TestSolanaGoReadsTheAnswers calls the remaining methods through
// solana-go, the client the gateway uses, so each answer decodes.
func TestSolanaGoReadsTheAnswers(t *testing.T) {
	t.Parallel()
	s := newShop(t, svmtest.Options{}, solana.TokenProgramID, 100)
	c, cx := s.node.Client, ctx(t)
	customer := s.customer.PublicKey()

	if h, err := c.GetHealth(cx); err != nil || h != rpc.HealthOk {
		t.Errorf("getHealth %q %v", h, err)
	}
	if v, err := c.GetVersion(cx); err != nil || v.SolanaCore == "" {
		t.Errorf("getVersion %+v %v", v, err)
	}
	if g, err := c.GetGenesisHash(cx); err != nil || g.IsZero() {
		t.Errorf("getGenesisHash %s %v", g, err)
	}
	slot := must(c.GetSlot(cx, rpc.CommitmentFinalized))
	if h := must(c.GetBlockHeight(cx, rpc.CommitmentFinalized)); h >= slot {
		t.Errorf("block height %d is not below slot %d", h, slot)
	}
	bh := must(c.GetLatestBlockhash(cx, rpc.CommitmentFinalized))
	if !must(c.IsBlockhashValid(cx, bh.Value.Blockhash, rpc.CommitmentFinalized)).Value || must(c.IsBlockhashValid(cx, solana.Hash{9}, rpc.CommitmentFinalized)).Value {
		t.Error("isBlockhashValid: want the latest valid and an unknown hash invalid")
	}
	if b := must(c.GetBalance(cx, s.authority.PublicKey(), rpc.CommitmentConfirmed)); b.Value == 0 || b.Value >= svmtest.FundLamports {
		t.Errorf("authority balance %d: want the airdrop less fees and rent", b.Value)
	}
	missing := solana.NewWallet().PublicKey()
	accts := must(c.GetMultipleAccountsWithOpts(cx, []solana.PublicKey{customer, missing}, &rpc.GetMultipleAccountsOpts{Commitment: rpc.CommitmentConfirmed}))
	if len(accts.Value) != 2 || accts.Value[0] == nil || accts.Value[0].Owner != solana.SystemProgramID || accts.Value[1] != nil {
		t.Errorf("getMultipleAccounts %+v", accts.Value)
	}
	if _, err := c.GetAccountInfoWithOpts(cx, missing, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed}); !errors.Is(err, rpc.ErrNotFound) {
		t.Errorf("getAccountInfo of a missing account: %v, want not found", err)
	}
	mint := must(c.GetAccountInfoWithOpts(cx, s.mint, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed, Encoding: solana.EncodingJSONParsed}))
	if raw := string(mint.Value.Data.GetRawJSON()); !strings.Contains(raw, `"type":"mint"`) || !strings.Contains(raw, `"decimals":6`) {
		t.Errorf("jsonParsed mint %s", raw)
	}
	toks := must(c.GetTokenAccountsByOwner(cx, customer, &rpc.GetTokenAccountsConfig{Mint: &s.mint}, &rpc.GetTokenAccountsOpts{Commitment: rpc.CommitmentConfirmed, Encoding: solana.EncodingBase64}))
	if len(toks.Value) != 1 || toks.Value[0].Pubkey != s.ata(customer) {
		t.Errorf("getTokenAccountsByOwner %+v", toks.Value)
	}
	if b := must(c.GetTokenAccountBalance(cx, s.ata(customer), rpc.CommitmentConfirmed)); b.Value.Amount != "100" || b.Value.Decimals != 6 || b.Value.UiAmountString != "0.0001" {
		t.Errorf("getTokenAccountBalance %+v", b.Value)
	}

	tx := s.node.Tx(t, s.customer, []solana.Instruction{solana.NewInstruction(svmtest.MemoProgramID, nil, []byte("hi"))}, svmtest.TxOptions{})
	msg := must(tx.Message.MarshalBinary())
	if fee := must(c.GetFeeForMessage(cx, base64.StdEncoding.EncodeToString(msg), rpc.CommitmentConfirmed)); fee.Value == nil || *fee.Value != 5000 {
		t.Errorf("getFeeForMessage %+v", fee.Value)
	}
	// Simulation runs at the finalized bank by default, which does not know
	// the confirmed blockhash yet, as on a real node.
	if sim := must(c.SimulateTransaction(cx, tx)); sim.Value.Err != "BlockhashNotFound" {
		t.Errorf("simulateTransaction at finalized: %+v", sim.Value)
	}
	atConfirmed := &rpc.SimulateTransactionOpts{Commitment: rpc.CommitmentConfirmed}
	sim := must(c.SimulateTransactionWithOpts(cx, tx, atConfirmed))
	if sim.Value.Err != nil || len(sim.Value.Logs) == 0 || sim.Value.UnitsConsumed == nil || *sim.Value.UnitsConsumed == 0 {
		t.Errorf("simulateTransaction of a memo: %+v", sim.Value)
	}
	if st := statusOf(t, s.node.URL, tx.Signatures[0]); st != nil {
		t.Error("a simulated transaction has a status")
	}
	data := binary.LittleEndian.AppendUint64([]byte{12}, 1_000)
	bad := s.node.Tx(t, s.customer, []solana.Instruction{solana.NewInstruction(s.program, solana.AccountMetaSlice{
		solana.Meta(s.ata(customer)).WRITE(), solana.Meta(s.mint), solana.Meta(s.ata(customer)).WRITE(), solana.Meta(customer).SIGNER(),
	}, append(data, 6))}, svmtest.TxOptions{})
	if sim := must(c.SimulateTransactionWithOpts(cx, bad, atConfirmed)); sim.Value.Err == nil || len(sim.Value.Logs) == 0 {
		t.Errorf("simulateTransaction of an overdraft: %+v", sim.Value)
	}

	sig := s.node.Send(t, tx, false)
	s.node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
	got := must(c.GetTransaction(cx, sig, &rpc.GetTransactionOpts{Commitment: rpc.CommitmentConfirmed, Encoding: solana.EncodingBase64}))
	decoded := must(got.Transaction.GetTransaction())
	if decoded.Signatures[0] != sig || got.Meta.Fee != 5000 || got.BlockTime == nil {
		t.Errorf("base64 getTransaction: signature %s fee %d blockTime %v", decoded.Signatures[0], got.Meta.Fee, got.BlockTime)
	}
	sigs := must(c.GetSignaturesForAddressWithOpts(cx, customer, &rpc.GetSignaturesForAddressOpts{Commitment: rpc.CommitmentConfirmed}))
	if len(sigs) == 0 || sigs[0].Signature != sig || sigs[0].Memo == nil || *sigs[0].Memo != "[2] hi" {
		t.Errorf("getSignaturesForAddress newest %+v", sigs[0])
	}
}
