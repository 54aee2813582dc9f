package solana

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"

	solana "github.com/gagliardetto/solana-go"

	"github.com/stablegate/stablegate/chains"
)

// Tx is what the watcher needs of one transaction.
type Tx struct {
	// Signature is the transaction's first signature, its id.
	Signature string
	// Slot is the slot the transaction landed in.
	Slot uint64
	// BlockTime is the block's unix time in seconds, 0 when the node has
	// none.
	BlockTime int64
	// Failed is set when the transaction failed (meta.err is not null). Its
	// instructions took no effect, so it never pays anything and Transfers
	// is empty.
	Failed bool
	// Accounts are every account key the transaction loaded, in message
	// order: the static keys, then addresses loaded from lookup tables
	// (writable, then read-only). Token balance indexes refer to this list,
	// and a Solana Pay reference key shows up here only, since the parsed
	// transfer does not name the extra accounts it was given.
	Accounts []string
	// Transfers are the credits of registry mints, ordered by LogIndex.
	Transfers []chains.Transfer
}

// Program names jsonParsed gives the token programs, by program id. An
// instruction counts only when both agree, so a program that merely calls
// itself "spl-token" is never read as a token transfer.
var tokenProgramNames = map[string]string{
	solana.TokenProgramID.String():     "spl-token",
	solana.Token2022ProgramID.String(): "spl-token-2022",
}

// Instruction positions in chains.Transfer.LogIndex: outer instruction i is
// i<<16, the j-th instruction it invoked (0-based, in meta.innerInstructions)
// is i<<16 | (j+1). Both halves fit 16 bits by a wide margin (a transaction
// is at most 1232 bytes, and the runtime caps a transaction's instruction
// trace at 64), so anything larger is malformed input, refused rather than
// allowed to collide.
const (
	logIndexShift = 16
	maxPosition   = 1<<logIndexShift - 1
)

func logIndex(outer, inner int) uint {
	return uint(outer)<<logIndexShift | uint(inner)
}

// ParseTransaction reads the result of getTransaction, called with
// encoding "jsonParsed" and maxSupportedTransactionVersion 0, for a
// transaction on chain.
//
// Every transfer, transferChecked and transferCheckedWithFee instruction of
// the SPL Token or Token-2022 program becomes a chains.Transfer, whether the
// transaction called it directly or a program invoked it (inner
// instructions), as long as its mint is one of chain.Tokens:
//
//   - Token is the mint, from the instruction or, for a plain transfer that
//     does not name it, from the token balances of the receiving account.
//   - To is the owner of the receiving token account, from the token
//     balances, which is the merchant's wallet when the account is its
//     associated token account; only when no balance names an owner is it
//     the token account itself.
//   - From is the signing authority (or multisig authority), else the owner
//     of the sending account, else the sending account.
//   - Amount is what the receiving account was credited, in base units: the
//     instruction's amount, less the fee of transferCheckedWithFee. A
//     Token-2022 mint with a transfer fee withholds the fee from a plain
//     transferChecked too, so when an account received exactly one transfer,
//     sent none, and its balance grew by less than the transfer, the growth
//     is the amount. A transfer that credits nothing is left out.
//   - LogIndex is the instruction's position: i<<16 for outer instruction i,
//     i<<16 | (j+1) for the j-th instruction it invoked. It is unique within
//     the transaction and does not change between reads.
//   - BlockNumber is the slot; BlockHash is empty because getTransaction
//     does not carry it.
//
// A failed transaction comes back with Failed set and no transfers. Input
// that is not such a result, such as null for an unknown signature, another
// encoding, a missing meta or a malformed amount, is an error.
func ParseTransaction(chain *chains.Chain, raw []byte) (*Tx, error) {
	if chain == nil {
		return nil, errors.New("parse transaction: chain is nil")
	}
	if chain.Kind != chains.KindSolana {
		return nil, fmt.Errorf("parse transaction: chain %q is not a Solana chain", chain.ID)
	}
	var res rpcResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("decode transaction (want getTransaction jsonParsed): %w", err)
	}
	if res.Transaction == nil {
		return nil, errors.New("decode transaction: no transaction in the result")
	}
	if len(res.Transaction.Signatures) == 0 {
		return nil, errors.New("decode transaction: no signature")
	}
	if n := len(res.Transaction.Signatures[0]); n > maxSignatureLen {
		return nil, fmt.Errorf("decode transaction: signature of %d characters, want at most %d", n, maxSignatureLen)
	}
	sig, err := solana.SignatureFromBase58(res.Transaction.Signatures[0])
	if err != nil {
		return nil, fmt.Errorf("decode transaction: signature: %w", err)
	}
	tx := &Tx{Signature: sig.String(), Slot: res.Slot}
	if res.BlockTime != nil {
		tx.BlockTime = *res.BlockTime
	}
	if res.Meta == nil {
		return nil, fmt.Errorf("parse transaction %s: no meta", tx.Signature)
	}
	tx.Accounts = make([]string, len(res.Transaction.Message.AccountKeys))
	for i, k := range res.Transaction.Message.AccountKeys {
		if tx.Accounts[i], err = canonicalKey(k.Pubkey); err != nil {
			return nil, fmt.Errorf("parse transaction %s: account key %d: %w", tx.Signature, i, err)
		}
	}
	if res.Meta.failed() {
		tx.Failed = true
		return tx, nil
	}
	p, err := newTxParser(chain, tx, res.Meta)
	if err != nil {
		return nil, fmt.Errorf("parse transaction %s: %w", tx.Signature, err)
	}
	if err := p.collect(res.Transaction.Message.Instructions, res.Meta.InnerInstructions); err != nil {
		return nil, fmt.Errorf("parse transaction %s: %w", tx.Signature, err)
	}
	tx.Transfers = p.transfers()
	return tx, nil
}

// The shape of a getTransaction jsonParsed result, reduced to what is read.
// Amounts are strings and never decoded into a float: uiAmount and
// uiAmountString are not even declared.
type (
	rpcResult struct {
		Slot        uint64     `json:"slot"`
		BlockTime   *int64     `json:"blockTime"`
		Meta        *rpcMeta   `json:"meta"`
		Transaction *rpcTxBody `json:"transaction"`
	}
	rpcTxBody struct {
		Signatures []string   `json:"signatures"`
		Message    rpcMessage `json:"message"`
	}
	rpcMessage struct {
		AccountKeys  []rpcAccountKey  `json:"accountKeys"`
		Instructions []rpcInstruction `json:"instructions"`
	}
	rpcAccountKey struct {
		Pubkey string `json:"pubkey"`
	}
	// rpcInstruction is parsed ({program, programId, parsed}) or, for a
	// program the node has no parser for, raw ({programId, accounts, data}).
	// parsed is an object for the token programs and a plain string for
	// spl-memo, so it stays raw until the program is known.
	rpcInstruction struct {
		Program   string          `json:"program"`
		ProgramID string          `json:"programId"`
		Parsed    json.RawMessage `json:"parsed"`
	}
	rpcMeta struct {
		Err               json.RawMessage   `json:"err"`
		Status            *rpcStatus        `json:"status"`
		InnerInstructions []rpcInner        `json:"innerInstructions"`
		PreTokenBalances  []rpcTokenBalance `json:"preTokenBalances"`
		PostTokenBalances []rpcTokenBalance `json:"postTokenBalances"`
	}
	rpcStatus struct {
		Err json.RawMessage `json:"Err"`
	}
	rpcInner struct {
		Index        int              `json:"index"`
		Instructions []rpcInstruction `json:"instructions"`
	}
	rpcTokenBalance struct {
		AccountIndex  int            `json:"accountIndex"`
		Mint          string         `json:"mint"`
		Owner         string         `json:"owner"`
		UITokenAmount rpcTokenAmount `json:"uiTokenAmount"`
	}
	rpcTokenAmount struct {
		Amount string `json:"amount"`
	}
	rpcParsed struct {
		Type string          `json:"type"`
		Info json.RawMessage `json:"info"`
	}
	// rpcTransferInfo covers transfer (amount), transferChecked
	// (tokenAmount, mint) and transferCheckedWithFee (feeAmount as well).
	rpcTransferInfo struct {
		Source            string          `json:"source"`
		Destination       string          `json:"destination"`
		Mint              string          `json:"mint"`
		Authority         string          `json:"authority"`
		MultisigAuthority string          `json:"multisigAuthority"`
		Amount            string          `json:"amount"`
		TokenAmount       *rpcTokenAmount `json:"tokenAmount"`
		FeeAmount         *rpcTokenAmount `json:"feeAmount"`
	}
)

// failed reports whether the transaction failed. Status is the deprecated
// twin of err; either one set is enough.
func (m *rpcMeta) failed() bool {
	return isSet(m.Err) || (m.Status != nil && isSet(m.Status.Err))
}

func isSet(raw json.RawMessage) bool {
	v := bytes.TrimSpace(raw)
	return len(v) > 0 && !bytes.Equal(v, []byte("null"))
}

// balance is one account's token balance before or after the transaction.
type balance struct {
	mint   string
	owner  string // "" when the node did not say
	amount *big.Int
}

// credit is one token instruction moving tokens into an account, before it
// is matched against the registry.
type credit struct {
	logIndex    uint
	source      string
	destination string
	authority   string
	mint        string // "" for a transfer, which does not name it
	amount      *big.Int
}

type txParser struct {
	chain   *chains.Chain
	tx      *Tx
	index   map[string]int // account key to its first position in tx.Accounts
	pre     map[int]balance
	post    map[int]balance
	credits []credit
}

func newTxParser(chain *chains.Chain, tx *Tx, meta *rpcMeta) (*txParser, error) {
	p := &txParser{chain: chain, tx: tx, index: make(map[string]int, len(tx.Accounts))}
	for i, k := range tx.Accounts {
		if _, seen := p.index[k]; !seen {
			p.index[k] = i
		}
	}
	var err error
	if p.pre, err = balances(meta.PreTokenBalances, len(tx.Accounts)); err != nil {
		return nil, fmt.Errorf("preTokenBalances: %w", err)
	}
	if p.post, err = balances(meta.PostTokenBalances, len(tx.Accounts)); err != nil {
		return nil, fmt.Errorf("postTokenBalances: %w", err)
	}
	return p, nil
}

func balances(in []rpcTokenBalance, accounts int) (map[int]balance, error) {
	out := make(map[int]balance, len(in))
	for _, b := range in {
		if b.AccountIndex < 0 || b.AccountIndex >= accounts {
			return nil, fmt.Errorf("account index %d outside the %d account keys", b.AccountIndex, accounts)
		}
		if _, dup := out[b.AccountIndex]; dup {
			return nil, fmt.Errorf("account index %d appears twice", b.AccountIndex)
		}
		mint, err := canonicalKey(b.Mint)
		if err != nil {
			return nil, fmt.Errorf("account index %d: mint: %w", b.AccountIndex, err)
		}
		owner := ""
		if b.Owner != "" {
			if owner, err = canonicalKey(b.Owner); err != nil {
				return nil, fmt.Errorf("account index %d: owner: %w", b.AccountIndex, err)
			}
		}
		amount, err := parseAmount(b.UITokenAmount.Amount)
		if err != nil {
			return nil, fmt.Errorf("account index %d: amount: %w", b.AccountIndex, err)
		}
		out[b.AccountIndex] = balance{mint: mint, owner: owner, amount: amount}
	}
	return out, nil
}

// collect walks the instructions in execution order, each outer instruction
// followed by the instructions it invoked, so credits come out sorted by
// LogIndex.
func (p *txParser) collect(outer []rpcInstruction, inner []rpcInner) error {
	if len(outer) > maxPosition {
		return fmt.Errorf("%d instructions, more than a transaction can hold", len(outer))
	}
	invoked := make(map[int][]rpcInstruction, len(inner))
	for _, in := range inner {
		if in.Index < 0 || in.Index >= len(outer) {
			return fmt.Errorf("inner instructions of instruction %d, which does not exist", in.Index)
		}
		if _, dup := invoked[in.Index]; dup {
			return fmt.Errorf("inner instructions of instruction %d appear twice", in.Index)
		}
		if len(in.Instructions) >= maxPosition {
			return fmt.Errorf("instruction %d invoked %d instructions, more than a transaction can", in.Index, len(in.Instructions))
		}
		invoked[in.Index] = in.Instructions
	}
	for i, ins := range outer {
		if err := p.add(ins, logIndex(i, 0)); err != nil {
			return fmt.Errorf("instruction %d: %w", i, err)
		}
		for j, ins := range invoked[i] {
			if err := p.add(ins, logIndex(i, j+1)); err != nil {
				return fmt.Errorf("instruction %d inner %d: %w", i, j, err)
			}
		}
	}
	return nil
}

// add records ins if it is a token transfer. A token instruction without
// "parsed" is one the node could not decode; nodes decode every transfer
// variant read here, so it is something else, such as a newer Token-2022
// extension instruction.
func (p *txParser) add(ins rpcInstruction, at uint) error {
	name, ok := tokenProgramNames[ins.ProgramID]
	if !ok || len(ins.Parsed) == 0 {
		return nil
	}
	if ins.Program != name {
		return fmt.Errorf("program %q for program id %s, want %q", ins.Program, ins.ProgramID, name)
	}
	var parsed rpcParsed
	if err := json.Unmarshal(ins.Parsed, &parsed); err != nil {
		return fmt.Errorf("decode %s instruction: %w", name, err)
	}
	switch parsed.Type {
	case "transfer", "transferChecked", "transferCheckedWithFee":
	default:
		return nil
	}
	var info rpcTransferInfo
	if err := json.Unmarshal(parsed.Info, &info); err != nil {
		return fmt.Errorf("decode %s info: %w", parsed.Type, err)
	}
	c := credit{logIndex: at}
	var err error
	if c.source, err = canonicalKey(info.Source); err != nil {
		return fmt.Errorf("%s source: %w", parsed.Type, err)
	}
	if c.destination, err = canonicalKey(info.Destination); err != nil {
		return fmt.Errorf("%s destination: %w", parsed.Type, err)
	}
	if _, ok := p.index[c.destination]; !ok {
		return fmt.Errorf("%s destination %s is not among the account keys", parsed.Type, c.destination)
	}
	if info.Mint != "" {
		if c.mint, err = canonicalKey(info.Mint); err != nil {
			return fmt.Errorf("%s mint: %w", parsed.Type, err)
		}
	}
	authority := info.Authority
	if authority == "" {
		authority = info.MultisigAuthority
	}
	if authority != "" {
		if c.authority, err = canonicalKey(authority); err != nil {
			return fmt.Errorf("%s authority: %w", parsed.Type, err)
		}
	}
	switch parsed.Type {
	case "transfer":
		c.amount, err = parseAmount(info.Amount)
	case "transferChecked":
		c.amount, err = tokenAmount(info.TokenAmount)
	case "transferCheckedWithFee":
		if c.amount, err = tokenAmount(info.TokenAmount); err != nil {
			break
		}
		var fee *big.Int
		if fee, err = tokenAmount(info.FeeAmount); err != nil {
			err = fmt.Errorf("fee: %w", err)
			break
		}
		if fee.Cmp(c.amount) > 0 {
			err = fmt.Errorf("fee %s exceeds amount %s", fee, c.amount)
			break
		}
		c.amount.Sub(c.amount, fee)
	}
	if err != nil {
		return fmt.Errorf("%s amount: %w", parsed.Type, err)
	}
	p.credits = append(p.credits, c)
	return nil
}

// transfers matches the credits against the registry and settles their
// amounts and parties.
func (p *txParser) transfers() []chains.Transfer {
	into := make(map[string]int)
	sends := make(map[string]bool)
	for _, c := range p.credits {
		into[c.destination]++
		sends[c.source] = true
	}
	var out []chains.Transfer
	for _, c := range p.credits {
		dst := p.index[c.destination]
		mint := c.mint
		if mint == "" {
			mint = p.balanceOf(dst).mint
		}
		if mint == "" || !p.accepts(mint) {
			continue
		}
		amount := c.amount
		// The balance tells the truth about one credit only: with several,
		// the shortfall cannot be split among them, and an account that also
		// sent tokens grew by less for a reason that is not a fee.
		if post, ok := p.post[dst]; ok && into[c.destination] == 1 && !sends[c.destination] {
			grown := new(big.Int).Set(post.amount)
			if pre, ok := p.pre[dst]; ok {
				grown.Sub(grown, pre.amount)
			}
			if grown.Cmp(amount) < 0 {
				amount = grown
			}
		}
		if amount.Sign() <= 0 {
			continue
		}
		to := p.balanceOf(dst).owner
		if to == "" {
			to = c.destination
		}
		from := c.authority
		if from == "" {
			if src, ok := p.index[c.source]; ok {
				from = p.balanceOf(src).owner
			}
		}
		if from == "" {
			from = c.source
		}
		out = append(out, chains.Transfer{
			Chain:       p.chain.ID,
			TxHash:      p.tx.Signature,
			LogIndex:    c.logIndex,
			BlockNumber: p.tx.Slot,
			BlockTime:   p.tx.BlockTime,
			From:        from,
			To:          to,
			Token:       mint,
			Amount:      new(big.Int).Set(amount),
		})
	}
	return out
}

// balanceOf returns the account's balance after the transaction, or before
// it when the account was closed; the zero balance when neither exists.
func (p *txParser) balanceOf(i int) balance {
	if b, ok := p.post[i]; ok {
		return b
	}
	return p.pre[i]
}

func (p *txParser) accepts(mint string) bool {
	for _, t := range p.chain.Tokens {
		if t.Contract == mint {
			return true
		}
	}
	return false
}

// Base58 lengths of a 32-byte key and a 64-byte signature. The base58
// decoder takes time quadratic in its input, so lengths are checked first.
const (
	minKeyLen       = 32
	maxKeyLen       = 44
	maxSignatureLen = 88
)

// canonicalKey checks that s is a base58 public key and returns its
// canonical spelling, the one the registry and merchants' addresses use.
func canonicalKey(s string) (string, error) {
	if s == "" {
		return "", errors.New("missing public key")
	}
	if len(s) < minKeyLen || len(s) > maxKeyLen {
		return "", fmt.Errorf("public key of %d characters, want %d to %d", len(s), minKeyLen, maxKeyLen)
	}
	k, err := solana.PublicKeyFromBase58(s)
	if err != nil {
		return "", fmt.Errorf("public key %q: %w", s, err)
	}
	return k.String(), nil
}

func tokenAmount(a *rpcTokenAmount) (*big.Int, error) {
	if a == nil {
		return nil, errors.New("missing")
	}
	return parseAmount(a.Amount)
}

// parseAmount reads a token amount: a u64 in base units, written as a
// decimal string with digits only.
func parseAmount(s string) (*big.Int, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if len(s) > 32 {
			return nil, fmt.Errorf("amount of %d characters is not a u64 in base units", len(s))
		}
		return nil, fmt.Errorf("amount %q is not a u64 in base units", s)
	}
	return new(big.Int).SetUint64(v), nil
}
