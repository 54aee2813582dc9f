package solana

import (
	"errors"
	"fmt"

	solana "github.com/gagliardetto/solana-go"

	"github.com/stablegate/stablegate/chains"
)

// TokenProgramID returns the on-chain id of the token program named as in
// chains.Token.Program: "" or chains.ProgramToken is the classic SPL Token program
// (TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA), chains.ProgramToken2022 is
// Token-2022 (TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb). Any other name
// is an error rather than a guess: under the wrong program a merchant's
// associated token account is a different address, one nobody watches.
func TokenProgramID(program string) (solana.PublicKey, error) {
	switch program {
	case "", chains.ProgramToken:
		return solana.TokenProgramID, nil
	case chains.ProgramToken2022:
		return solana.Token2022ProgramID, nil
	default:
		return solana.PublicKey{}, fmt.Errorf("unknown token program %q, want %q or %q", program, chains.ProgramToken, chains.ProgramToken2022)
	}
}

// TokenProgram returns the token program that owns t's mint. A registry
// validates Program, so only a token that never went through one can carry
// an unknown name (or be nil); TokenProgram then returns the zero key,
// which AssociatedTokenAccount and PaymentTx.Build refuse, so the mistake
// surfaces as an error instead of a payment to an unwatched account.
func TokenProgram(t *chains.Token) solana.PublicKey {
	if t == nil {
		return solana.PublicKey{}
	}
	id, err := TokenProgramID(t.Program)
	if err != nil {
		return solana.PublicKey{}
	}
	return id
}

// isTokenProgram reports whether id is one of the two token programs.
func isTokenProgram(id solana.PublicKey) bool {
	return id.Equals(solana.TokenProgramID) || id.Equals(solana.Token2022ProgramID)
}

// AssociatedTokenAccount derives the associated token account of owner for
// mint under tokenProgram (solana.TokenProgramID or
// solana.Token2022ProgramID): the program address of the seeds owner, token
// program, mint under the Associated Token Account program
// (ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL). It is the account Solana
// Pay wallets pay into, so it is where a merchant's payments arrive.
//
// solana-go's FindAssociatedTokenAddress always uses the classic program,
// which gives the wrong address for a Token-2022 mint; hence this function.
func AssociatedTokenAccount(owner, mint, tokenProgram solana.PublicKey) (solana.PublicKey, error) {
	switch {
	case owner.IsZero():
		return solana.PublicKey{}, errors.New("associated token account: owner is the zero key")
	case mint.IsZero():
		return solana.PublicKey{}, errors.New("associated token account: mint is the zero key")
	case !isTokenProgram(tokenProgram):
		return solana.PublicKey{}, fmt.Errorf("associated token account: %s is not a token program", tokenProgram)
	}
	addr, _, err := solana.FindProgramAddress(
		[][]byte{owner[:], tokenProgram[:], mint[:]},
		solana.SPLAssociatedTokenAccountProgramID,
	)
	if err != nil {
		return solana.PublicKey{}, fmt.Errorf("associated token account of %s for %s: %w", owner, mint, err)
	}
	return addr, nil
}
