package svmtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/programs/system"
	"github.com/gagliardetto/solana-go/rpc"
)

// Program ids the helpers build instructions for.
var (
	// AssociatedTokenProgramID is the Associated Token Account program.
	AssociatedTokenProgramID = solana.SPLAssociatedTokenAccountProgramID
	// LookupTableProgramID is the Address Lookup Table program.
	LookupTableProgramID = solana.MustPublicKeyFromBase58("AddressLookupTab1e1111111111111111111111111")
	// MemoProgramID is the SPL Memo program (v3).
	MemoProgramID = solana.MemoProgramID
)

// waitTimeout bounds every wait of the helpers; at the default 100ms slot a
// transaction finalizes within a second.
const waitTimeout = 30 * time.Second

// FundLamports is what Funded airdrops: 10 SOL.
const FundLamports = 10 * solana.LAMPORTS_PER_SOL

func ctxFor() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), waitTimeout)
}

// Funded returns a new key holding FundLamports, airdropped through
// requestAirdrop and confirmed.
func (n *Node) Funded(t testing.TB) solana.PrivateKey {
	t.Helper()
	key := solana.NewWallet().PrivateKey
	ctx, cancel := ctxFor()
	defer cancel()
	sig, err := n.Client.RequestAirdrop(ctx, key.PublicKey(), FundLamports, rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatalf("svmtest: airdrop: %v", err)
	}
	n.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
	return key
}

// TxOptions shape a transaction built by Tx.
type TxOptions struct {
	// Signers sign besides the payer.
	Signers []solana.PrivateKey
	// Version0 builds a v0 message instead of a legacy one.
	Version0 bool
	// LookupTables are address lookup tables the v0 message may load
	// accounts from; their current contents are read from the node.
	LookupTables []solana.PublicKey
}

// Tx builds and signs a transaction of ixs paid by payer, with the latest
// confirmed blockhash.
func (n *Node) Tx(t testing.TB, payer solana.PrivateKey, ixs []solana.Instruction, o TxOptions) *solana.Transaction {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	bh, err := n.Client.GetLatestBlockhash(ctx, rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatalf("svmtest: latest blockhash: %v", err)
	}
	opts := []solana.TransactionOption{solana.TransactionPayer(payer.PublicKey())}
	if len(o.LookupTables) > 0 {
		tables := make(map[solana.PublicKey]solana.PublicKeySlice, len(o.LookupTables))
		for _, table := range o.LookupTables {
			tables[table] = n.lookupTable(t, table)
		}
		opts = append(opts, solana.TransactionAddressTables(tables))
	}
	tx, err := solana.NewTransaction(ixs, bh.Value.Blockhash, opts...)
	if err != nil {
		t.Fatalf("svmtest: build transaction: %v", err)
	}
	if o.Version0 {
		tx.Message.SetVersion(solana.MessageVersionV0)
	}
	keys := append([]solana.PrivateKey{payer}, o.Signers...)
	_, err = tx.Sign(func(pub solana.PublicKey) *solana.PrivateKey {
		for i := range keys {
			if keys[i].PublicKey() == pub {
				return &keys[i]
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("svmtest: sign: %v", err)
	}
	return tx
}

// Send sends tx with preflight at the confirmed commitment, or with
// skipPreflight, and returns its signature; a refused send fails the test.
// It does not wait for confirmation.
func (n *Node) Send(t testing.TB, tx *solana.Transaction, skipPreflight bool) solana.Signature {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	sig, err := n.Client.SendTransactionWithOpts(ctx, tx, rpc.TransactionOpts{
		SkipPreflight: skipPreflight, PreflightCommitment: rpc.CommitmentConfirmed,
	})
	if err != nil {
		t.Fatalf("svmtest: send transaction: %v", err)
	}
	return sig
}

// WaitCommitment waits until sig has reached commitment (a failed
// transaction reaches it too), failing the test after a while.
func (n *Node) WaitCommitment(t testing.TB, sig solana.Signature, commitment rpc.CommitmentType) {
	t.Helper()
	want := rank(commitment)
	if want < 0 {
		t.Fatalf("svmtest: unknown commitment %q", commitment)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := n.Client.GetSignatureStatuses(ctx, true, sig)
		cancel()
		if err == nil && len(out.Value) == 1 && out.Value[0] != nil && rank(out.Value[0].ConfirmationStatus) >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("svmtest: %s did not reach %s within %s (last error: %v)", sig, commitment, waitTimeout, err)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval inside a deadline loop
	}
}

func rank[S ~string](c S) int {
	switch string(c) {
	case "processed":
		return 0
	case "confirmed":
		return 1
	case "finalized":
		return 2
	}
	return -1
}

// CreateMint creates and initializes a mint with the given decimals under
// programID (solana.TokenProgramID or solana.Token2022ProgramID), with
// authority as mint authority and payer and no freeze authority, and waits
// for it to confirm.
func (n *Node) CreateMint(t testing.TB, authority solana.PrivateKey, decimals uint8, programID solana.PublicKey) solana.PublicKey {
	t.Helper()
	mint := solana.NewWallet().PrivateKey
	create := system.NewCreateAccountInstruction(n.rent(t, 82), 82, programID, authority.PublicKey(), mint.PublicKey()).Build()
	data := append([]byte{20, decimals}, authority.PublicKey().Bytes()...) // InitializeMint2
	data = append(data, 0)                                                 // no freeze authority
	init := solana.NewInstruction(programID, solana.AccountMetaSlice{solana.Meta(mint.PublicKey()).WRITE()}, data)
	sig := n.Send(t, n.Tx(t, authority, []solana.Instruction{create, init}, TxOptions{Signers: []solana.PrivateKey{mint}}), false)
	n.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
	return mint.PublicKey()
}

// MintTo mints amount base units of mint to owner's associated token
// account, creating it idempotently, signed and paid by the mint authority,
// and waits for it to confirm.
func (n *Node) MintTo(t testing.TB, authority solana.PrivateKey, mint, owner solana.PublicKey, amount uint64) solana.Signature {
	t.Helper()
	program := n.TokenProgram(t, mint)
	ata := AssociatedTokenAddress(owner, mint, program)
	data := binary.LittleEndian.AppendUint64([]byte{7}, amount) // MintTo
	mintTo := solana.NewInstruction(program, solana.AccountMetaSlice{
		solana.Meta(mint).WRITE(), solana.Meta(ata).WRITE(), solana.Meta(authority.PublicKey()).SIGNER(),
	}, data)
	ixs := []solana.Instruction{CreateATAIdempotent(authority.PublicKey(), owner, mint, program), mintTo}
	sig := n.Send(t, n.Tx(t, authority, ixs, TxOptions{}), false)
	n.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
	return sig
}

// TransferParams describe a token payment.
type TransferParams struct {
	// From owns the source associated token account, signs and pays the fee.
	From solana.PrivateKey
	// Mint is the token; its program (SPL Token or Token-2022) is read from
	// the node.
	Mint solana.PublicKey
	// ToOwner owns the destination associated token account, which the
	// transaction creates idempotently first, as wallets do.
	ToOwner solana.PublicKey
	// Amount is in base units; Decimals must match the mint's.
	Amount   uint64
	Decimals uint8
	// References are appended read-only to the transferChecked instruction,
	// as Solana Pay does, so getSignaturesForAddress finds the payment by
	// any of them.
	References []solana.PublicKey
	// SkipPreflight sends without simulation: a failing transfer then lands
	// with its error instead of being refused.
	SkipPreflight bool
	// Version0 sends a v0 transaction; LookupTables (optional) are tables it
	// may load accounts from.
	Version0     bool
	LookupTables []solana.PublicKey
}

// TransferChecked sends a transferChecked payment and returns its signature
// once the node has processed it; it does not wait for confirmation.
func (n *Node) TransferChecked(t testing.TB, p TransferParams) solana.Signature {
	t.Helper()
	program := n.TokenProgram(t, p.Mint)
	from := p.From.PublicKey()
	src := AssociatedTokenAddress(from, p.Mint, program)
	dst := AssociatedTokenAddress(p.ToOwner, p.Mint, program)
	accounts := solana.AccountMetaSlice{
		solana.Meta(src).WRITE(), solana.Meta(p.Mint), solana.Meta(dst).WRITE(), solana.Meta(from).SIGNER(),
	}
	for _, ref := range p.References {
		accounts = append(accounts, solana.Meta(ref))
	}
	data := binary.LittleEndian.AppendUint64([]byte{12}, p.Amount) // TransferChecked
	data = append(data, p.Decimals)
	ixs := []solana.Instruction{
		CreateATAIdempotent(from, p.ToOwner, p.Mint, program),
		solana.NewInstruction(program, accounts, data),
	}
	tx := n.Tx(t, p.From, ixs, TxOptions{Version0: p.Version0 || len(p.LookupTables) > 0, LookupTables: p.LookupTables})
	return n.Send(t, tx, p.SkipPreflight)
}

// CreateLookupTable creates an address lookup table through the Address
// Lookup Table program, extends it with addresses, both paid and
// authorized by authority, and waits until a transaction can load from it
// (a table's new addresses are usable from the slot after the extension).
func (n *Node) CreateLookupTable(t testing.TB, authority solana.PrivateKey, addresses ...solana.PublicKey) solana.PublicKey {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	recent, err := n.Client.GetSlot(ctx, rpc.CommitmentFinalized)
	if err != nil {
		t.Fatalf("svmtest: slot: %v", err)
	}
	auth := authority.PublicKey()
	table, bump, err := solana.FindProgramAddress([][]byte{auth.Bytes(), binary.LittleEndian.AppendUint64(nil, recent)}, LookupTableProgramID)
	if err != nil {
		t.Fatal(err)
	}
	create := binary.LittleEndian.AppendUint32(nil, 0) // CreateLookupTable
	create = binary.LittleEndian.AppendUint64(create, recent)
	create = append(create, bump)
	extend := binary.LittleEndian.AppendUint32(nil, 2) // ExtendLookupTable
	extend = binary.LittleEndian.AppendUint64(extend, uint64(len(addresses)))
	for _, a := range addresses {
		extend = append(extend, a.Bytes()...)
	}
	metas := func() solana.AccountMetaSlice {
		return solana.AccountMetaSlice{
			solana.Meta(table).WRITE(), solana.Meta(auth).SIGNER(), solana.Meta(auth).WRITE().SIGNER(), solana.Meta(solana.SystemProgramID),
		}
	}
	ixs := []solana.Instruction{
		solana.NewInstruction(LookupTableProgramID, metas(), create),
		solana.NewInstruction(LookupTableProgramID, metas(), extend),
	}
	sig := n.Send(t, n.Tx(t, authority, ixs, TxOptions{}), false)
	n.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
	st, err := n.Client.GetSignatureStatuses(ctx, true, sig)
	if err != nil || len(st.Value) != 1 || st.Value[0] == nil {
		t.Fatalf("svmtest: lookup table status: %v", err)
	}
	for {
		slot, err := n.Client.GetSlot(ctx, rpc.CommitmentConfirmed)
		if err != nil {
			t.Fatalf("svmtest: slot: %v", err)
		}
		if slot > st.Value[0].Slot {
			return table
		}
		time.Sleep(20 * time.Millisecond) // a poll interval; ctx bounds the loop
	}
}

// lookupTable reads a lookup table's addresses at the confirmed commitment.
func (n *Node) lookupTable(t testing.TB, table solana.PublicKey) solana.PublicKeySlice {
	t.Helper()
	data := n.accountData(t, table)
	const header = 56 // the table's metadata before its addresses
	if len(data) < header || (len(data)-header)%32 != 0 {
		t.Fatalf("svmtest: %s is not an address lookup table", table)
	}
	var out solana.PublicKeySlice
	for o := header; o < len(data); o += 32 {
		out = append(out, solana.PublicKeyFromBytes(data[o:o+32]))
	}
	return out
}

// TokenProgram returns the program that owns mint: SPL Token or Token-2022.
func (n *Node) TokenProgram(t testing.TB, mint solana.PublicKey) solana.PublicKey {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	acct, err := n.Client.GetAccountInfoWithOpts(ctx, mint, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		t.Fatalf("svmtest: mint %s: %v", mint, err)
	}
	owner := acct.Value.Owner
	if owner != solana.TokenProgramID && owner != solana.Token2022ProgramID {
		t.Fatalf("svmtest: %s is owned by %s, not a token program", mint, owner)
	}
	return owner
}

func (n *Node) accountData(t testing.TB, key solana.PublicKey) []byte {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	acct, err := n.Client.GetAccountInfoWithOpts(ctx, key, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if errors.Is(err, rpc.ErrNotFound) {
		t.Fatalf("svmtest: account %s does not exist", key)
	}
	if err != nil {
		t.Fatalf("svmtest: account %s: %v", key, err)
	}
	return acct.Value.Data.GetBinary()
}

func (n *Node) rent(t testing.TB, size uint64) uint64 {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	lamports, err := n.Client.GetMinimumBalanceForRentExemption(ctx, size, rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatalf("svmtest: rent: %v", err)
	}
	return lamports
}

// AssociatedTokenAddress derives owner's associated token account for mint
// under a token program.
func AssociatedTokenAddress(owner, mint, program solana.PublicKey) solana.PublicKey {
	ata, _, err := solana.FindProgramAddress([][]byte{owner.Bytes(), program.Bytes(), mint.Bytes()}, AssociatedTokenProgramID)
	if err != nil {
		panic(fmt.Sprintf("svmtest: derive associated token account: %v", err)) // only on an impossible seed set
	}
	return ata
}

// CreateATAIdempotent is the Associated Token Account program's
// createIdempotent instruction for owner's account of mint, paid by payer.
func CreateATAIdempotent(payer, owner, mint, program solana.PublicKey) solana.Instruction {
	return solana.NewInstruction(AssociatedTokenProgramID, solana.AccountMetaSlice{
		solana.Meta(payer).WRITE().SIGNER(),
		solana.Meta(AssociatedTokenAddress(owner, mint, program)).WRITE(),
		solana.Meta(owner),
		solana.Meta(mint),
		solana.Meta(solana.SystemProgramID),
		solana.Meta(program),
	}, []byte{1})
}
