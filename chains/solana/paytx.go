package solana

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	solana "github.com/gagliardetto/solana-go"
)

// maxTransactionSize is the largest wire transaction the network accepts
// (PACKET_DATA_SIZE). A longer memo would give the customer a transaction
// the wallet cannot send, so Build refuses it instead.
const maxTransactionSize = 1232

// Instruction tags: the first data byte the programs dispatch on.
const (
	ataCreateIdempotent  = 1  // Associated Token Account: CreateIdempotent
	tokenTransferChecked = 12 // Token and Token-2022: TransferChecked
)

// PaymentTx is a customer's payment of one checkout, as the hosted page's
// "pay with wallet" hands it to a Solana wallet: what a Solana Pay
// transaction request answers with.
type PaymentTx struct {
	// Payer is the customer's wallet: fee payer, and owner of the token
	// account the tokens leave from.
	Payer solana.PublicKey
	// Recipient is the merchant's wallet, the owner shown to the customer;
	// the tokens go to its associated token account.
	Recipient solana.PublicKey
	// Mint is the token's mint, TokenProgram the program that owns it
	// (TokenProgram or TokenProgramID give it for a registry token).
	Mint         solana.PublicKey
	TokenProgram solana.PublicKey
	// Decimals are the mint's decimals; transferChecked fails on chain when
	// they are wrong, so a stale registry entry cannot move a different
	// amount than the one shown.
	Decimals uint8
	// Amount is in base units and must be positive.
	Amount uint64
	// Reference is the checkout's Solana Pay reference key, required: the
	// watcher finds the payment through it.
	Reference solana.PublicKey
	// Memo is optional text recorded on chain in a memo instruction, in
	// public; it must be valid UTF-8.
	Memo string
	// Blockhash is a recent blockhash (getLatestBlockhash). A wallet
	// answering a Solana Pay transaction request puts in its own, since the
	// transaction comes unsigned, but one that signs what it is handed does
	// not, and the transaction expires with the blockhash after about a
	// minute: build it when the wallet asks, not ahead of time.
	Blockhash solana.Hash
}

// Build returns the payment as an unsigned legacy transaction whose fee
// payer is Payer. Its instructions are, in order:
//
//   - Associated Token Account CreateIdempotent of Recipient's account for
//     Mint, paid by Payer, so a merchant's first payment in a token does not
//     fail for want of an account (and costs nothing when it exists);
//   - when Memo is set, a memo instruction without signer accounts;
//   - TransferChecked of Amount from Payer's associated token account to
//     Recipient's, Payer signing as the owner, with Reference appended as a
//     read-only, non-signer account as Solana Pay requires.
//
// The memo comes right before the transfer, not after it: the Solana Pay
// specification asks for that, and Token-2022's required-memo extension
// only counts a memo in the instruction just before the transfer.
//
// For a Solana Pay transaction request, Payer is the "account" of the
// wallet's POST, the only signer the transaction expects (a wallet must
// refuse one that wants any other), and the answer is
// {"transaction": base64.StdEncoding.EncodeToString(wire)} with
// wire, err := tx.MarshalBinary(): without signatures, MarshalBinary writes
// Payer's signature slot as 64 zero bytes, the wire form of an unsigned
// transaction that the wallet fills in when it signs.
func (p PaymentTx) Build() (*solana.Transaction, error) {
	switch {
	case p.Payer.IsZero():
		return nil, errors.New("build payment: payer is the zero key")
	case p.Recipient.IsZero():
		return nil, errors.New("build payment: recipient is the zero key")
	case p.Mint.IsZero():
		return nil, errors.New("build payment: mint is the zero key")
	case p.TokenProgram.IsZero():
		return nil, errors.New("build payment: token program is not set")
	case !isTokenProgram(p.TokenProgram):
		return nil, fmt.Errorf("build payment: %s is not a token program", p.TokenProgram)
	case p.Amount == 0:
		return nil, errors.New("build payment: amount is zero")
	case p.Reference.IsZero():
		return nil, errors.New("build payment: reference is required")
	case p.Blockhash == solana.Hash{}:
		return nil, errors.New("build payment: blockhash is zero")
	case !utf8.ValidString(p.Memo):
		return nil, errors.New("build payment: memo is not valid UTF-8")
	}
	source, err := AssociatedTokenAccount(p.Payer, p.Mint, p.TokenProgram)
	if err != nil {
		return nil, fmt.Errorf("build payment: payer's %w", err)
	}
	destination, err := AssociatedTokenAccount(p.Recipient, p.Mint, p.TokenProgram)
	if err != nil {
		return nil, fmt.Errorf("build payment: recipient's %w", err)
	}
	// A reference that is also another account of the transaction would be
	// merged with it, becoming writable or a signer, and would no longer
	// single out this checkout's payment.
	for _, k := range []solana.PublicKey{
		p.Payer, p.Recipient, p.Mint, source, destination, p.TokenProgram,
		solana.SystemProgramID, solana.SPLAssociatedTokenAccountProgramID, solana.MemoProgramID,
	} {
		if p.Reference.Equals(k) {
			return nil, fmt.Errorf("build payment: reference %s is also an account of the payment", p.Reference)
		}
	}

	ixs := []solana.Instruction{
		solana.NewInstruction(solana.SPLAssociatedTokenAccountProgramID, solana.AccountMetaSlice{
			solana.Meta(p.Payer).WRITE().SIGNER(),
			solana.Meta(destination).WRITE(),
			solana.Meta(p.Recipient),
			solana.Meta(p.Mint),
			solana.Meta(solana.SystemProgramID),
			solana.Meta(p.TokenProgram),
		}, []byte{ataCreateIdempotent}),
	}
	if p.Memo != "" {
		ixs = append(ixs, solana.NewInstruction(solana.MemoProgramID, solana.AccountMetaSlice{}, []byte(p.Memo)))
	}
	// Built by hand rather than with solana-go's programs/token and
	// programs/associated-token-account: those are bound to the classic
	// program id (switching it is a package-wide setting), and the latter
	// has no CreateIdempotent.
	data := make([]byte, 0, 10)
	data = append(data, tokenTransferChecked)
	data = binary.LittleEndian.AppendUint64(data, p.Amount)
	data = append(data, p.Decimals)
	ixs = append(ixs, solana.NewInstruction(p.TokenProgram, solana.AccountMetaSlice{
		solana.Meta(source).WRITE(),
		solana.Meta(p.Mint),
		solana.Meta(destination).WRITE(),
		solana.Meta(p.Payer).SIGNER(),
		solana.Meta(p.Reference),
	}, data))

	tx, err := solana.NewTransaction(ixs, p.Blockhash, solana.TransactionPayer(p.Payer))
	if err != nil {
		return nil, fmt.Errorf("build payment: %w", err)
	}
	wire, err := tx.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("build payment: encode: %w", err)
	}
	if len(wire) > maxTransactionSize {
		return nil, fmt.Errorf("build payment: transaction is %d bytes, over the %d a transaction may have; shorten the memo", len(wire), maxTransactionSize)
	}
	return tx, nil
}
