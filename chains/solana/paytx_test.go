package solana

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	solana "github.com/gagliardetto/solana-go"
)

// meta is an instruction account as the signed message gives it: the flags
// are the message's, so the fee payer is writable wherever it appears.
type meta struct {
	Key              string
	Signer, Writable bool
}

type decodedInstruction struct {
	Program  string
	Accounts []meta
	Data     []byte
}

// decodeWire reads the transaction back from its wire form, with the
// header rules of the runtime rather than solana-go's helpers, and checks
// it is an unsigned legacy transaction with one zeroed signature slot.
func decodeWire(t *testing.T, tx *solana.Transaction) (keys []string, ixs []decodedInstruction, blockhash solana.Hash) {
	t.Helper()
	wire, err := tx.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	if len(wire) < 1+64+1 || wire[0] != 1 || !bytes.Equal(wire[1:65], make([]byte, 64)) {
		t.Fatalf("wire does not start with one zeroed signature: % x", wire[:min(len(wire), 66)])
	}
	if wire[65]&0x80 != 0 {
		t.Fatalf("message prefix %#x marks a versioned message, want legacy", wire[65])
	}
	got, err := solana.TransactionFromBytes(wire)
	if err != nil {
		t.Fatalf("decode wire: %v", err)
	}
	m := got.Message
	h := m.Header
	if h.NumRequiredSignatures != 1 {
		t.Fatalf("%d required signatures, want 1 (the payer)", h.NumRequiredSignatures)
	}
	n := len(m.AccountKeys)
	signer := func(i int) bool { return i < int(h.NumRequiredSignatures) }
	writable := func(i int) bool {
		if signer(i) {
			return i < int(h.NumRequiredSignatures-h.NumReadonlySignedAccounts)
		}
		return i < n-int(h.NumReadonlyUnsignedAccounts)
	}
	for _, k := range m.AccountKeys {
		keys = append(keys, k.String())
	}
	for _, ci := range m.Instructions {
		d := decodedInstruction{Program: keys[ci.ProgramIDIndex], Accounts: []meta{}, Data: []byte(ci.Data)}
		for _, a := range ci.Accounts {
			d.Accounts = append(d.Accounts, meta{Key: keys[a], Signer: signer(int(a)), Writable: writable(int(a))})
		}
		ixs = append(ixs, d)
	}
	return keys, ixs, m.RecentBlockhash
}

func TestPaymentTxBuild(t *testing.T) {
	key := solana.MustPublicKeyFromBase58
	blockhash := solana.MustHashFromBase58("3bGbw8hWNF4gqedV1p5LvKsQGKMVvY9neWcJi3ZiEbaP")
	tests := []struct {
		name     string
		p        PaymentTx
		wantKeys int
		want     []decodedInstruction
	}{
		{
			name: "USDC with memo",
			p: PaymentTx{
				Payer: key(customer), Recipient: key(merchant),
				Mint: key(usdcMint), TokenProgram: solana.TokenProgramID, Decimals: 6,
				Amount: 50000123, Reference: key(refKey), Memo: "Order 1042", Blockhash: blockhash,
			},
			// payer, both token accounts, merchant, mint, reference and the
			// system, token, associated token and memo programs
			wantKeys: 10,
			want: []decodedInstruction{
				{
					Program: ataProgram,
					Accounts: []meta{
						{Key: customer, Signer: true, Writable: true},
						{Key: merchantUSDC, Writable: true},
						{Key: merchant},
						{Key: usdcMint},
						{Key: systemProgram},
						{Key: tokenProgram},
					},
					Data: []byte{1},
				},
				{Program: memoProgram, Accounts: []meta{}, Data: []byte("Order 1042")},
				{
					Program: tokenProgram,
					Accounts: []meta{
						{Key: customerUSDC, Writable: true},
						{Key: usdcMint},
						{Key: merchantUSDC, Writable: true},
						{Key: customer, Signer: true, Writable: true},
						{Key: refKey},
					},
					// TransferChecked, 50000123 = 0x02faf0fb little-endian, 6 decimals
					Data: []byte{12, 0xfb, 0xf0, 0xfa, 0x02, 0, 0, 0, 0, 6},
				},
			},
		},
		{
			name: "Token-2022 mint without memo",
			p: PaymentTx{
				Payer: key(customer), Recipient: key(merchant),
				Mint: key(feeMint), TokenProgram: solana.Token2022ProgramID, Decimals: 6,
				Amount: 10000000, Reference: key(refKey), Blockhash: blockhash,
			},
			wantKeys: 9,
			want: []decodedInstruction{
				{
					Program: ataProgram,
					Accounts: []meta{
						{Key: customer, Signer: true, Writable: true},
						{Key: merchantFEE, Writable: true},
						{Key: merchant},
						{Key: feeMint},
						{Key: systemProgram},
						{Key: token2022Program},
					},
					Data: []byte{1},
				},
				{
					Program: token2022Program,
					Accounts: []meta{
						{Key: customerFEE, Writable: true},
						{Key: feeMint},
						{Key: merchantFEE, Writable: true},
						{Key: customer, Signer: true, Writable: true},
						{Key: refKey},
					},
					// TransferChecked, 10000000 = 0x989680 little-endian, 6 decimals
					Data: []byte{12, 0x80, 0x96, 0x98, 0, 0, 0, 0, 0, 6},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := tt.p.Build()
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			keys, ixs, bh := decodeWire(t, tx)
			if keys[0] != customer {
				t.Errorf("fee payer %s, want the payer %s", keys[0], customer)
			}
			if len(keys) != tt.wantKeys {
				t.Errorf("%d account keys %v, want %d", len(keys), keys, tt.wantKeys)
			}
			if bh != blockhash {
				t.Errorf("blockhash %s, want %s", bh, blockhash)
			}
			if !reflect.DeepEqual(ixs, tt.want) {
				t.Errorf("instructions:\n got %+v\nwant %+v", ixs, tt.want)
			}
			// Same input, same bytes: a wallet that asks twice sees one
			// transaction.
			again, err := tt.p.Build()
			if err != nil {
				t.Fatal(err)
			}
			w1, _ := tx.MarshalBinary()
			w2, _ := again.MarshalBinary()
			if !bytes.Equal(w1, w2) {
				t.Error("two builds of one payment differ")
			}
		})
	}
}

func TestPaymentTxBuildErrors(t *testing.T) {
	key := solana.MustPublicKeyFromBase58
	valid := PaymentTx{
		Payer: key(customer), Recipient: key(merchant),
		Mint: key(usdcMint), TokenProgram: solana.TokenProgramID, Decimals: 6,
		Amount: 50000123, Reference: key(refKey), Memo: "Order 1042",
		Blockhash: solana.MustHashFromBase58("3bGbw8hWNF4gqedV1p5LvKsQGKMVvY9neWcJi3ZiEbaP"),
	}
	if _, err := valid.Build(); err != nil {
		t.Fatalf("the valid payment fails: %v", err)
	}
	tests := []struct {
		name   string
		change func(p *PaymentTx)
	}{
		{name: "zero payer", change: func(p *PaymentTx) { p.Payer = solana.PublicKey{} }},
		{name: "zero recipient", change: func(p *PaymentTx) { p.Recipient = solana.PublicKey{} }},
		{name: "zero mint", change: func(p *PaymentTx) { p.Mint = solana.PublicKey{} }},
		{name: "no token program", change: func(p *PaymentTx) { p.TokenProgram = solana.PublicKey{} }},
		{name: "not a token program", change: func(p *PaymentTx) { p.TokenProgram = solana.SystemProgramID }},
		{name: "zero amount", change: func(p *PaymentTx) { p.Amount = 0 }},
		{name: "no reference", change: func(p *PaymentTx) { p.Reference = solana.PublicKey{} }},
		{name: "reference is the recipient", change: func(p *PaymentTx) { p.Reference = p.Recipient }},
		{name: "reference is the recipient's token account", change: func(p *PaymentTx) { p.Reference = key(merchantUSDC) }},
		{name: "reference is the memo program", change: func(p *PaymentTx) { p.Reference = solana.MemoProgramID }},
		{name: "no blockhash", change: func(p *PaymentTx) { p.Blockhash = solana.Hash{} }},
		{name: "memo not UTF-8", change: func(p *PaymentTx) { p.Memo = "Order \xff" }},
		{name: "memo too long for a transaction", change: func(p *PaymentTx) { p.Memo = strings.Repeat("a", 900) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid
			tt.change(&p)
			if _, err := p.Build(); err == nil {
				t.Error("Build succeeded, want an error")
			} else {
				t.Log(err)
			}
		})
	}
}
