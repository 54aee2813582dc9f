package solana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stablegate/stablegate/chains"
)

// Keys of the fixtures in testdata. Wallets are ed25519 keys, token
// accounts are the wallets' real associated token accounts, and the mints
// are the mainnet ones except feeMint, a made-up Token-2022 mint with a
// transfer fee.
const (
	customer = "YsndHazcLMr7EXZNPA6pm1oKNmqui7cJGZ75sP2VesV"
	merchant = "4DdnyYtzJYqarvELqkYKUeeaX1QSHGcaG1s5GKnBxd2K"
	platform = "3Th4DMGXaWKzvixvTK8SjAvZMFWKrDZXYw1ZbKgoMpaq"
	cosigner = "4XkR5GNZJBdmbpT3ivcY9KFMijnQhSkNEY1jDrUCm58F"
	multisig = "4jbDVYakdRmVCYkjnVceGwMRiQwYg5Uqm3bB9y4V3NTV"
	refKey   = "36i5rcGkXDoZfcifuMZZYvKFxCvMYG5FgeMT3A6jdDkT"
	router   = "2y7hyJRPRfZo942eUdvJenKhDzeg1ccnKs5Jvg95xKgC"

	usdcMint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
	usdtMint = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"
	bonkMint = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
	feeMint  = "EBHBHG3sSmUcLo8p7f879fN2xsoL9FGacXWpE9kCcFG1"

	customerUSDC = "2fi9sBT4bcLU9JEg28Knj1WH5pdqvSqDqp9xcJVe2eey"
	merchantUSDC = "CQos8euDBK4h2HQv4sTG3qfNL6DqF59vWSGCnKaSHXKF"
	platformUSDC = "4hrwisAh1zywRDMZ8NGi8pdrrPdVzphwSEiMXZfkUx5T"
	multisigUSDT = "F71GVSBHMqVQ8yX25ffcRR89co1hGnD28V7sukuagCmc"
	merchantUSDT = "AySs2ZTjmaQHBA5555Fbn87mt4GC9MgvrqGsfqDf4HZ7"
	customerBONK = "6YoEXGaj8vT1gcv2u18Wnv2uht73AqaPbytvDJvcszCS"
	merchantBONK = "4ySG8QWQmjUzDEjedPnawcc1M9sHcnjRFghg8ZbfsaMv"
	customerFEE  = "G8yiqgzK5xp9rZgiSyjAC7vKsdHkHM1Brr9KaCRgoQxd"
	merchantFEE  = "H2d48wJ5iN1i1asEz6jjMutUwgfW4vBL19hSGKovDBdu"

	tokenProgram     = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
	token2022Program = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
	ataProgram       = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
	memoProgram      = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
	computeBudget    = "ComputeBudget111111111111111111111111111111"
	systemProgram    = "11111111111111111111111111111111"

	sig1  = "G89zgx26tSgAEBJLY9YnuHFAgdLbPxRrUXrE1K476cK1KTrohdhWQBEysHgSZz7zvpqkDSWWM88jWy24xK5WWmp"
	sig2  = "4ZQj6S1JGLje9vRHPAV6roLFTPQ7GHZbfZyaAZMVoSt33u7U6YaHPaWuDNbAaaPGwcKMdWtNsLKVUJaqDwNj3vRz"
	sig3  = "23mmNn2isF2vTyH2ntbfwAfrnjFqZTDfb7kMucVe1zgtvbmnDLA24vmnCe8q1fjrQ8cWQF3tQQJ6ZxQzL4yhXxns"
	sig4  = "5iTjJa19rVZSw46dhNbW3h6Bjh5FdeghEFc8wuSsn6iQMD16rWZFz2zWGg8KzPzYxuDWHQ3kAU89NMuvbvm5Jqtk"
	sig5  = "2dhfzzit4QNxnGPAEQthrMYJsgrNtGfB9iz2pMpXzrksGuHqoB4hWsYgGYJmcxZRnnfGRVAKc96PN6PCXgVsohzv"
	sig6  = "57Vt7wJ4kVNL3v6vu1R6cADeLevNkBg1wYdxmT8yphkub6MnrzHvABAJhVyMrTxWU1YhgJcUvNBwd6rySgxuimUW"
	sig7  = "3Q6VNdvQda5npV52A9HE1n6PupanmG2qKxysKp5R9YWpymWk8cgvRb2Gh4J3LvAnE9rok1ZxPSaVH3dNi6gr6MbB"
	sig8  = "4bGpUt5Au42CBQpfDqaiP3DVCy6aonz6LSCB6FMZ5qbtCdHaBNMYYkxEMCE5qWLoNosExB4ZfH1nycEEdp5KGpYz"
	sig9  = "2U6CThWUzqNXdAQngSCoGLTnVeLL1qJtgs2qjiXF2NLHK2PPTsahYame57yTQ431n5VfUAVA2yLpx9Nyj6GuBWPD"
	sig10 = "3PkLqZcPngKFvMqyL69GCmeiqNKzqJnongGscs3UFFDDBv3tPvBxLeqQ3umzrpuzM1KWqhFnqbCs2mVncN6wGiNM"
)

func testChain() *chains.Chain {
	return &chains.Chain{
		ID:   "solana",
		Name: "Solana",
		Kind: chains.KindSolana,
		Tokens: []chains.Token{
			{Symbol: "USDT", Contract: usdtMint, Decimals: 6, Program: chains.ProgramToken},
			{Symbol: "USDC", Contract: usdcMint, Decimals: 6, Program: chains.ProgramToken},
			{Symbol: "FEE", Contract: feeMint, Decimals: 6, Program: chains.ProgramToken2022},
		},
	}
}

// txView is a Tx with amounts as decimal strings, comparable with
// reflect.DeepEqual (big.Int's internals are not).
type txView struct {
	Signature string
	Slot      uint64
	BlockTime int64
	Failed    bool
	Accounts  []string
	Transfers []transferView
}

type transferView struct {
	Chain, TxHash   string
	LogIndex        uint
	BlockNumber     uint64
	BlockHash       string
	BlockTime       int64
	From, To, Token string
	Amount          string
}

func view(tx *Tx) txView {
	v := txView{Signature: tx.Signature, Slot: tx.Slot, BlockTime: tx.BlockTime, Failed: tx.Failed, Accounts: tx.Accounts}
	for _, t := range tx.Transfers {
		amount := "<nil>"
		if t.Amount != nil {
			amount = t.Amount.String()
		}
		v.Transfers = append(v.Transfers, transferView{
			Chain: t.Chain, TxHash: t.TxHash, LogIndex: t.LogIndex, BlockNumber: t.BlockNumber,
			BlockHash: t.BlockHash, BlockTime: t.BlockTime, From: t.From, To: t.To, Token: t.Token, Amount: amount,
		})
	}
	return v
}

// want is the view a fixture is expected to yield; the transfers get the
// fields that repeat across a transaction filled in.
func want(sig string, slot uint64, blockTime int64, failed bool, accounts []string, transfers ...transferView) txView {
	for i := range transfers {
		transfers[i].Chain = "solana"
		transfers[i].TxHash = sig
		transfers[i].BlockNumber = slot
		transfers[i].BlockTime = blockTime
	}
	v := txView{Signature: sig, Slot: slot, BlockTime: blockTime, Failed: failed, Accounts: accounts}
	if len(transfers) > 0 {
		v.Transfers = transfers
	}
	return v
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseTransactionFixtures(t *testing.T) {
	tests := []struct {
		name string
		file string
		want txView
	}{
		{
			name: "legacy transferChecked to the merchant's associated token account",
			file: "transfer_checked.json",
			want: want(sig1, 312000100, 1735000000, false,
				[]string{customer, customerUSDC, merchantUSDC, computeBudget, usdcMint, tokenProgram},
				transferView{LogIndex: 2 << 16, From: customer, To: merchant, Token: usdcMint, Amount: "50000123"}),
		},
		{
			name: "plain transfer takes its mint from the token balances",
			file: "transfer_plain.json",
			want: want(sig2, 312001133, 1735000412, false,
				[]string{customer, customerUSDC, merchantUSDC, tokenProgram},
				transferView{LogIndex: 0, From: customer, To: merchant, Token: usdcMint, Amount: "2500000"}),
		},
		{
			name: "v0 transaction with the merchant's account loaded from a lookup table",
			file: "v0_lookup_table.json",
			want: want(sig3, 312003020, 1735001187, false,
				[]string{customer, customerUSDC, tokenProgram, merchantUSDC, usdcMint},
				transferView{LogIndex: 0, From: customer, To: merchant, Token: usdcMint, Amount: "19000077"}),
		},
		{
			name: "transfer a program made through CPI",
			file: "inner_cpi.json",
			want: want(sig4, 312004871, 1735002004, false,
				[]string{customer, customerUSDC, merchantUSDC, computeBudget, router, memoProgram, usdcMint, tokenProgram},
				transferView{LogIndex: 1<<16 | 2, From: customer, To: merchant, Token: usdcMint, Amount: "74990000"}),
		},
		{
			name: "failed transaction pays nothing",
			file: "failed.json",
			want: want(sig5, 312006002, 1735002950, true,
				[]string{customer, customerUSDC, merchantUSDC, computeBudget, usdcMint, tokenProgram}),
		},
		{
			name: "mint outside the registry is ignored",
			file: "unknown_mint.json",
			want: want(sig6, 312007410, 1735003333, false,
				[]string{customer, customerBONK, merchantBONK, bonkMint, tokenProgram}),
		},
		{
			name: "Solana Pay payment with memo and reference key",
			file: "solana_pay_reference.json",
			want: want(sig7, 312008888, 1735004100, false,
				[]string{customer, merchantUSDC, customerUSDC, merchant, usdcMint, systemProgram, tokenProgram, refKey, ataProgram, memoProgram},
				transferView{LogIndex: 2 << 16, From: customer, To: merchant, Token: usdcMint, Amount: "42000000"}),
		},
		{
			name: "several transfers, a multisig one among them, with distinct log indexes",
			file: "multiple_transfers.json",
			want: want(sig8, 312010001, 1735005555, false,
				[]string{customer, cosigner, customerUSDC, merchantUSDC, multisigUSDT, merchantUSDT, platformUSDC, usdcMint, multisig, router, tokenProgram},
				transferView{LogIndex: 0, From: customer, To: merchant, Token: usdcMint, Amount: "30000000"},
				transferView{LogIndex: 1 << 16, From: multisig, To: merchant, Token: usdtMint, Amount: "12500000"},
				transferView{LogIndex: 2<<16 | 1, From: customer, To: platform, Token: usdcMint, Amount: "300000"}),
		},
		{
			name: "transferCheckedWithFee credits the amount less the fee",
			file: "transfer_checked_with_fee.json",
			want: want(sig9, 312011500, 1735006789, false,
				[]string{customer, customerFEE, merchantFEE, feeMint, token2022Program},
				transferView{LogIndex: 0, From: customer, To: merchant, Token: feeMint, Amount: "9950000"}),
		},
		{
			name: "transferChecked of a fee mint credits what the balance grew by",
			file: "transfer_checked_fee_withheld.json",
			want: want(sig10, 312012000, 1735007000, false,
				[]string{customer, customerFEE, merchantFEE, feeMint, token2022Program},
				transferView{LogIndex: 0, From: customer, To: merchant, Token: feeMint, Amount: "9950000"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := ParseTransaction(testChain(), readFixture(t, tt.file))
			if err != nil {
				t.Fatalf("ParseTransaction: %v", err)
			}
			if got := view(tx); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTransaction:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// edit decodes a fixture, lets fn change it and encodes it again. Numbers
// stay json.Number, so nothing passes through a float on the way.
func edit(t testing.TB, file string, fn func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(readFixture(t, file)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at walks a decoded fixture along keys (string) and indexes (int).
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		default:
			panic(fmt.Sprintf("path element %v", p))
		}
	}
	return v
}

func obj(v any, path ...any) map[string]any { return at(v, path...).(map[string]any) }

// Paths into the fixtures.
var (
	metaPath = []any{"meta"}
	outer    = func(i int) []any { return []any{"transaction", "message", "instructions", i} }
	info     = func(i int) []any { return append(outer(i), "parsed", "info") }
)

func TestParseTransactionVariants(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		want txView
	}{
		{
			name: "uiAmount out of float range is never read",
			raw: edit(t, "transfer_checked.json", func(m map[string]any) {
				obj(m, append(info(2), "tokenAmount")...)["uiAmount"] = json.Number("1e400")
				for _, side := range []string{"preTokenBalances", "postTokenBalances"} {
					for _, b := range at(m, "meta", side).([]any) {
						obj(b, "uiTokenAmount")["uiAmount"] = json.Number("1e400")
					}
				}
			}),
			want: want(sig1, 312000100, 1735000000, false,
				[]string{customer, customerUSDC, merchantUSDC, computeBudget, usdcMint, tokenProgram},
				transferView{LogIndex: 2 << 16, From: customer, To: merchant, Token: usdcMint, Amount: "50000123"}),
		},
		{
			name: "no block time",
			raw: edit(t, "transfer_plain.json", func(m map[string]any) {
				m["blockTime"] = nil
			}),
			want: want(sig2, 312001133, 0, false,
				[]string{customer, customerUSDC, merchantUSDC, tokenProgram},
				transferView{LogIndex: 0, From: customer, To: merchant, Token: usdcMint, Amount: "2500000"}),
		},
		{
			name: "without authority From is the sending account's owner",
			raw: edit(t, "transfer_plain.json", func(m map[string]any) {
				delete(obj(m, info(0)...), "authority")
				for _, side := range []string{"preTokenBalances", "postTokenBalances"} {
					obj(m, "meta", side, 0)["owner"] = platform
				}
			}),
			want: want(sig2, 312001133, 1735000412, false,
				[]string{customer, customerUSDC, merchantUSDC, tokenProgram},
				transferView{LogIndex: 0, From: platform, To: merchant, Token: usdcMint, Amount: "2500000"}),
		},
		{
			name: "without owners the token accounts stand for the parties",
			raw: edit(t, "transfer_plain.json", func(m map[string]any) {
				delete(obj(m, info(0)...), "authority")
				for _, side := range []string{"preTokenBalances", "postTokenBalances"} {
					for _, b := range at(m, "meta", side).([]any) {
						delete(b.(map[string]any), "owner")
					}
				}
			}),
			want: want(sig2, 312001133, 1735000412, false,
				[]string{customer, customerUSDC, merchantUSDC, tokenProgram},
				transferView{LogIndex: 0, From: customerUSDC, To: merchantUSDC, Token: usdcMint, Amount: "2500000"}),
		},
		{
			name: "closed receiving account keeps the owner it had before",
			raw: edit(t, "transfer_plain.json", func(m map[string]any) {
				obj(m, metaPath...)["postTokenBalances"] = at(m, "meta", "postTokenBalances").([]any)[:1]
			}),
			want: want(sig2, 312001133, 1735000412, false,
				[]string{customer, customerUSDC, merchantUSDC, tokenProgram},
				transferView{LogIndex: 0, From: customer, To: merchant, Token: usdcMint, Amount: "2500000"}),
		},
		{
			name: "status Err alone marks the transaction failed",
			raw: edit(t, "transfer_checked.json", func(m map[string]any) {
				obj(m, metaPath...)["status"] = map[string]any{"Err": "AccountInUse"}
			}),
			want: want(sig1, 312000100, 1735000000, true,
				[]string{customer, customerUSDC, merchantUSDC, computeBudget, usdcMint, tokenProgram}),
		},
		{
			name: "a transfer that credits nothing is left out",
			raw: edit(t, "transfer_plain.json", func(m map[string]any) {
				obj(m, info(0)...)["amount"] = "0"
			}),
			want: want(sig2, 312001133, 1735000412, false,
				[]string{customer, customerUSDC, merchantUSDC, tokenProgram}),
		},
		{
			name: "two credits into one account keep their own amounts",
			raw: edit(t, "transfer_checked_fee_withheld.json", func(m map[string]any) {
				ins := at(m, "transaction", "message", "instructions").([]any)
				second := map[string]any{}
				b, _ := json.Marshal(ins[0])
				_ = json.Unmarshal(b, &second)
				obj(second, "parsed", "info", "tokenAmount")["amount"] = "1"
				m["transaction"].(map[string]any)["message"].(map[string]any)["instructions"] = append(ins, second)
			}),
			want: want(sig10, 312012000, 1735007000, false,
				[]string{customer, customerFEE, merchantFEE, feeMint, token2022Program},
				transferView{LogIndex: 0, From: customer, To: merchant, Token: feeMint, Amount: "10000000"},
				transferView{LogIndex: 1 << 16, From: customer, To: merchant, Token: feeMint, Amount: "1"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := ParseTransaction(testChain(), tt.raw)
			if err != nil {
				t.Fatalf("ParseTransaction: %v", err)
			}
			if got := view(tx); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTransaction:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseTransactionErrors(t *testing.T) {
	evm := &chains.Chain{ID: "base", Name: "Base", Kind: chains.KindEVM, ChainID: 8453}
	tests := []struct {
		name  string
		chain *chains.Chain
		raw   []byte
	}{
		{name: "nil chain", chain: nil, raw: readFixture(t, "transfer_checked.json")},
		{name: "EVM chain", chain: evm, raw: readFixture(t, "transfer_checked.json")},
		{name: "not JSON", raw: []byte(`{"slot":`)},
		{name: "null result of an unknown signature", raw: []byte(`null`)},
		{name: "base64 encoding", raw: []byte(`{"slot":1,"meta":{"err":null},"transaction":["AQID","base64"]}`)},
		{name: "json encoding with string account keys", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, "transaction", "message")["accountKeys"] = []any{customer}
		})},
		{name: "missing meta", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			delete(m, "meta")
		})},
		{name: "no signature", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, "transaction")["signatures"] = []any{}
		})},
		{name: "malformed signature", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, "transaction")["signatures"] = []any{"not-base58-0OIl"}
		})},
		{name: "malformed account key", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, "transaction", "message", "accountKeys", 1)["pubkey"] = "abc"
		})},
		{name: "negative amount", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, append(info(2), "tokenAmount")...)["amount"] = "-50000123"
		})},
		{name: "amount with a plus sign", raw: edit(t, "transfer_plain.json", func(m map[string]any) {
			obj(m, info(0)...)["amount"] = "+2500000"
		})},
		{name: "amount over u64", raw: edit(t, "transfer_plain.json", func(m map[string]any) {
			obj(m, info(0)...)["amount"] = "18446744073709551616"
		})},
		{name: "amount as a JSON number", raw: edit(t, "transfer_plain.json", func(m map[string]any) {
			obj(m, info(0)...)["amount"] = json.Number("2500000")
		})},
		{name: "decimal amount", raw: edit(t, "transfer_plain.json", func(m map[string]any) {
			obj(m, info(0)...)["amount"] = "2.5"
		})},
		{name: "missing tokenAmount", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			delete(obj(m, info(2)...), "tokenAmount")
		})},
		{name: "fee larger than the amount", raw: edit(t, "transfer_checked_with_fee.json", func(m map[string]any) {
			obj(m, append(info(0), "feeAmount")...)["amount"] = "10000001"
		})},
		{name: "missing fee", raw: edit(t, "transfer_checked_with_fee.json", func(m map[string]any) {
			delete(obj(m, info(0)...), "feeAmount")
		})},
		{name: "malformed destination", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, info(2)...)["destination"] = "0x1234"
		})},
		{name: "destination outside the account keys", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, info(2)...)["destination"] = platformUSDC
		})},
		{name: "program name that does not match the program id", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, outer(2)...)["program"] = "spl-token-2022"
		})},
		{name: "token instruction parsed as a string", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, outer(2)...)["parsed"] = "transferChecked"
		})},
		{name: "token balance outside the account keys", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, "meta", "postTokenBalances", 1)["accountIndex"] = json.Number("6")
		})},
		{name: "token balance twice for one account", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, "meta", "postTokenBalances", 1)["accountIndex"] = json.Number("1")
		})},
		{name: "token balance with a malformed amount", raw: edit(t, "transfer_checked.json", func(m map[string]any) {
			obj(m, "meta", "preTokenBalances", 0, "uiTokenAmount")["amount"] = "1e8"
		})},
		{name: "inner instructions of a missing instruction", raw: edit(t, "inner_cpi.json", func(m map[string]any) {
			obj(m, "meta", "innerInstructions", 0)["index"] = json.Number("2")
		})},
		{name: "inner instructions listed twice", raw: edit(t, "inner_cpi.json", func(m map[string]any) {
			inner := at(m, "meta", "innerInstructions").([]any)
			obj(m, metaPath...)["innerInstructions"] = append(inner, inner[0])
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain := tt.chain
			if chain == nil && tt.name != "nil chain" {
				chain = testChain()
			}
			if tx, err := ParseTransaction(chain, tt.raw); err == nil {
				t.Errorf("ParseTransaction = %+v, want an error", view(tx))
			} else {
				t.Log(err)
			}
		})
	}
}
