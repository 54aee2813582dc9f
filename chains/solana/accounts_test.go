package solana

import (
	"testing"

	solana "github.com/gagliardetto/solana-go"

	"github.com/stablegate/stablegate/chains"
)

func TestTokenProgramID(t *testing.T) {
	tests := []struct {
		name    string
		program string
		want    solana.PublicKey
		wantErr bool
	}{
		{name: "empty is classic", program: "", want: solana.MustPublicKeyFromBase58("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")},
		{name: "token", program: chains.ProgramToken, want: solana.MustPublicKeyFromBase58("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")},
		{name: "token-2022", program: chains.ProgramToken2022, want: solana.MustPublicKeyFromBase58("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")},
		{name: "case matters", program: "Token-2022", wantErr: true},
		{name: "jsonParsed program name", program: "spl-token", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TokenProgramID(tt.program)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("TokenProgramID(%q) = %s, want an error", tt.program, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("TokenProgramID(%q): %v", tt.program, err)
			}
			if got != tt.want {
				t.Errorf("TokenProgramID(%q) = %s, want %s", tt.program, got, tt.want)
			}
		})
	}
}

func TestTokenProgram(t *testing.T) {
	tests := []struct {
		name  string
		token *chains.Token
		want  solana.PublicKey
	}{
		{name: "nil", token: nil, want: solana.PublicKey{}},
		{name: "unset is classic", token: &chains.Token{Symbol: "USDC"}, want: solana.TokenProgramID},
		{name: "classic", token: &chains.Token{Symbol: "USDC", Program: chains.ProgramToken}, want: solana.TokenProgramID},
		{name: "token-2022", token: &chains.Token{Symbol: "PYUSD", Program: chains.ProgramToken2022}, want: solana.Token2022ProgramID},
		{name: "unknown", token: &chains.Token{Symbol: "X", Program: "token-2023"}, want: solana.PublicKey{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenProgram(tt.token); got != tt.want {
				t.Errorf("TokenProgram() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAssociatedTokenAccount(t *testing.T) {
	key := solana.MustPublicKeyFromBase58
	// The first two vectors were printed by `spl-token address --owner
	// <owner> --token <mint> --verbose` on mainnet (BonkEarn, CKfat..., is a
	// Token-2022 mint); the third by @solana/spl-token's
	// getAssociatedTokenAddress for devnet USDC.
	tests := []struct {
		name                string
		owner, mint, tokens solana.PublicKey
		want                solana.PublicKey
	}{
		{
			name:   "USDC under the classic program",
			owner:  key("AAAGuCgkmxYDTiBvzx1QT5XEjqXPRtQaiEXQo4gatD2o"),
			mint:   key("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
			tokens: solana.TokenProgramID,
			want:   key("Cra8woRQhnHsGAmFWcCN1m7A9J44ykNfGpehi6dMBuKR"),
		},
		{
			name:   "Token-2022 mint",
			owner:  key("AAAGuCgkmxYDTiBvzx1QT5XEjqXPRtQaiEXQo4gatD2o"),
			mint:   key("CKfatsPMUf8SkiURsDXs7eK6GWb4Jsd6UDbs7twMCWxo"),
			tokens: solana.Token2022ProgramID,
			want:   key("GPtCoaz35vdCrFbyhxcRrkYvECrUkrBX6CoRZEv8EQDw"),
		},
		{
			name:   "devnet USDC",
			owner:  key("5waJka9MrCgPFoLo3SQSjLDTGnkoDcwYYPnpk4YNJS6i"),
			mint:   key("4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"),
			tokens: solana.TokenProgramID,
			want:   key("HmBpVD6N1vuGvQpS8KrwWH6Tr8rSwXQBEDKn5VXW6yyw"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AssociatedTokenAccount(tt.owner, tt.mint, tt.tokens)
			if err != nil {
				t.Fatalf("AssociatedTokenAccount: %v", err)
			}
			if got != tt.want {
				t.Errorf("AssociatedTokenAccount = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestAssociatedTokenAccountMatchesSolanaGo checks the classic derivation
// against solana-go's own, which knows no other program, and that the same
// owner and mint give a different account under Token-2022.
func TestAssociatedTokenAccountMatchesSolanaGo(t *testing.T) {
	mint := solana.MustPublicKeyFromBase58("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
	for _, owner := range []solana.PublicKey{
		solana.MustPublicKeyFromBase58("AAAGuCgkmxYDTiBvzx1QT5XEjqXPRtQaiEXQo4gatD2o"),
		solana.MustPublicKeyFromBase58("mvines9iiHiQTysrwkJjGf2gb9Ex9jXJX8ns3qwf2kN"),
	} {
		want, _, err := solana.FindAssociatedTokenAddress(owner, mint)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AssociatedTokenAccount(owner, mint, solana.TokenProgramID)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("owner %s: AssociatedTokenAccount = %s, solana-go says %s", owner, got, want)
		}
		got2022, err := AssociatedTokenAccount(owner, mint, solana.Token2022ProgramID)
		if err != nil {
			t.Fatal(err)
		}
		if got2022 == want {
			t.Errorf("owner %s: the Token-2022 account equals the classic one, %s", owner, want)
		}
	}
}

func TestAssociatedTokenAccountErrors(t *testing.T) {
	owner := solana.MustPublicKeyFromBase58("AAAGuCgkmxYDTiBvzx1QT5XEjqXPRtQaiEXQo4gatD2o")
	mint := solana.MustPublicKeyFromBase58("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
	tests := []struct {
		name                string
		owner, mint, tokens solana.PublicKey
	}{
		{name: "zero owner", owner: solana.PublicKey{}, mint: mint, tokens: solana.TokenProgramID},
		{name: "zero mint", owner: owner, mint: solana.PublicKey{}, tokens: solana.TokenProgramID},
		{name: "zero program", owner: owner, mint: mint, tokens: solana.PublicKey{}},
		{name: "not a token program", owner: owner, mint: mint, tokens: solana.SystemProgramID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := AssociatedTokenAccount(tt.owner, tt.mint, tt.tokens); err == nil {
				t.Errorf("AssociatedTokenAccount = %s, want an error", got)
			}
		})
	}
}
